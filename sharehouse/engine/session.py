"""The turn loop: one engine for a person in the TUI and a simulated user in ``simulate``.

Each iteration: the housemate of the current state speaks (generated outside the FSM, remembered
as the session's pending line), the user replies, the check judges, the FSM moves, and the turn is
committed together with the new position in one transaction before the next line is generated.
A session rebuilt from the store resumes at the same state, with the same pending line.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sharehouse.engine.checks import CheckResult, check_reply, other_days_lines
from sharehouse.engine.machine import SessionMachine
from sharehouse.engine.npc import HousemateMode, NpcLine, generate_line
from sharehouse.engine.relevance import RelevanceGate
from sharehouse.engine.users import PastTurn, TurnContext, User
from sharehouse.lang import is_lang
from sharehouse.llm.base import ChatModel, Completion, GenParams
from sharehouse.scenario import Scenario, State
from sharehouse.store import LLMCallRecord, Position, SessionRecord, Store, TurnRecord, new_id
from sharehouse.textclean import sanitize_input


class SessionStore(Protocol):
    """What the turn loop reads and writes: a :class:`~sharehouse.store.Store`, or the stand-in a
    Ray worker plays against, which sends each write on to the process that owns the store
    (:class:`sharehouse.executors.relay.RelayedStore`)."""

    @property
    def path(self) -> Path: ...
    def get_session(self, session_id: str) -> SessionRecord | None: ...
    def load_turns(self, session_id: str) -> list[TurnRecord]: ...
    def set_pending(
        self,
        session_id: str,
        npc: str,
        message: str,
        *,
        model: str | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        latency_s: float | None = None,
        fallback: bool | None = None,
        npc_rejected: int | None = None,
        npc_reject_reasons: str | None = None,
    ) -> None: ...
    def append_turn(
        self, turn: TurnRecord, position: Position | None = None, *, complete: bool = False
    ) -> None: ...
    def log_llm_call(self, rec: LLMCallRecord) -> None: ...
    def set_status(self, session_id: str, status: str, reason: str | None = None) -> None: ...
    def bump_attempts(self, session_id: str) -> int: ...


class EngineEvents:
    """Hooks for a face (TUI, progress display). Every method is optional; all run on the event loop
    except :meth:`npc_token`, which a local model calls from its worker thread."""

    def npc_thinking(self, npc_id: str, state: State) -> None: ...
    def npc_token(self, npc_id: str, text: str) -> None: ...
    def npc_message(self, npc_id: str, text: str, state: State, follow_up: bool) -> None: ...
    def awaiting_reply(self, ctx: TurnContext) -> None: ...
    def checking(self, reply: str) -> None: ...
    def turn_committed(self, turn: TurnRecord, check: CheckResult) -> None: ...
    def day_finished(self, day: int) -> None: ...
    def session_finished(self, session: SessionRecord) -> None: ...


@dataclass
class EngineParams:
    npc: GenParams = field(default_factory=lambda: GenParams(max_tokens=140, temperature=0.7))
    seed: int | None = None
    player_name: str | None = None  # how the housemates address the player (defaults to a neutral word)
    log_calls: bool = True
    relevance: RelevanceGate | None = None  # off-topic replies get a follow-up without asking the judge
    housemates: HousemateMode = (
        "react"  # how a housemate line is written (sharehouse.engine.npc.HOUSEMATE_MODES)
    )


def start_session(
    store: Store,
    scenario: Scenario,
    *,
    kind: str,
    source: str,
    user_id: str,
    language: str,
    run_id: str | None = None,
    persona_id: str | None = None,
    llm_config: dict[str, Any] | None = None,
    session_id: str | None = None,
) -> SessionRecord:
    """Create a session positioned at the first question of day 1."""
    if not is_lang(language):
        raise ValueError(f"language must be en, ja or zh, not {language!r}")
    first_day, first_state = scenario.ordered_states()[0]
    rec = SessionRecord(
        id=session_id or new_id("s"),
        kind=kind,  # type: ignore[arg-type]
        source=source,
        run_id=run_id,
        user_id=user_id,
        persona_id=persona_id,
        language=language,
        scenario_id=scenario.id,
        scenario_hash=scenario.content_hash(),
        llm_config=llm_config,
        position_day=first_day,
        position_state=first_state.id,
        followups_used=0,
    )
    return store.create_session(rec)


def stored_line(text: str) -> str:
    """An NPC line as it is stored: the same hygiene as typed or imported text (NFC, no control
    characters, trimmed), so that export and re-import give back exactly the stored line."""
    return sanitize_input(text)


_PENDING_FIELDS = (
    "pending_message", "pending_npc", "pending_model", "pending_prompt_tokens", "pending_completion_tokens",
    "pending_latency_s", "pending_fallback", "pending_npc_rejected", "pending_npc_reject_reasons",
)  # fmt: skip


@dataclass
class ShownLine:
    """The NPC line of a turn and what produced it (also when it is a resumed pending line)."""

    text: str
    latency_s: float
    model: str | None
    prompt_tokens: int
    completion_tokens: int
    fallback: bool | None  # None: not known (a pending line stored before this was recorded)
    rejected: int | None = None  # generated lines the guard rejected before this one (None: not known)
    reject_reasons: str | None = None  # JSON list: why each was rejected


def past_turns(scenario: Scenario, turns: list[TurnRecord]) -> list[PastTurn]:
    return [
        PastTurn(day=t.day, npc_name=t.npc, message=t.message, response=t.response, state_id=t.state_id)
        for t in turns
    ]


class SessionRunner:
    """Plays one stored session forward until it ends (or until the current day ends)."""

    def __init__(
        self,
        store: SessionStore,
        scenario: Scenario,
        session_id: str,
        *,
        npc_model: ChatModel,
        user: User,
        check_model: ChatModel | None = None,
        events: EngineEvents | None = None,
        params: EngineParams | None = None,
    ) -> None:
        self.store = store
        self.scenario = scenario
        rec = store.get_session(session_id)
        if rec is None:
            raise KeyError(f"no session {session_id!r} in {store.path}")
        if rec.scenario_hash and rec.scenario_hash != scenario.content_hash():
            raise ValueError(
                f"session {session_id} was played with a different version of scenario {rec.scenario_id!r}; "
                "resume it with the scenario file it started with"
            )
        self.session = rec
        self.lang = rec.language
        self.npc_model = npc_model
        self.check_model = check_model if check_model is not None else npc_model
        self.user = user
        self.events = events or EngineEvents()
        self.params = params or EngineParams()
        self.turns = store.load_turns(session_id)
        pos = Position(day=rec.position_day, state=rec.position_state, followups_used=rec.followups_used)
        self.fsm = SessionMachine(scenario, pos)
        self.player = (
            self.params.player_name or {"en": "the newcomer", "ja": "新入り", "zh": "新室友"}[self.lang]
        )

    @property
    def finished(self) -> bool:
        return self.fsm.finished

    def _log(self, purpose: str, comp: Completion | None, day: int | None) -> None:
        if comp is None or not self.params.log_calls:
            return
        self.store.log_llm_call(
            LLMCallRecord(
                session_id=self.session.id,
                day=day,
                purpose=purpose,
                model=comp.model,
                prompt_tokens=comp.prompt_tokens,
                evaluated_prompt_tokens=comp.evaluated_prompt_tokens,
                completion_tokens=comp.completion_tokens,
                latency_s=comp.latency_s,
                attempts=comp.attempts,
            )
        )

    def _next_idx(self, day: int) -> int:
        return sum(1 for t in self.turns if t.day == day)

    def _configured_npc_model(self) -> str | None:
        """The NPC model named in the session's settings (``llm_config``), spelt the way the backends
        name their completions (``local:small``, ``local:x.gguf``, ``litellm:openai/gpt-4o-mini``)."""
        cfg = self.session.llm_config or {}
        npc = cfg.get("npc", cfg)
        if not isinstance(npc, dict) or not npc.get("model"):
            return None
        model, backend = str(npc["model"]), str(npc.get("backend", ""))
        if backend == "local":
            return f"local:{Path(model).name if model.endswith('.gguf') else model}"
        return f"{backend}:{model}" if backend else model

    async def _npc_line(self, state: State, day: int, follow_up: str | None) -> ShownLine:
        rec = self.session
        if rec.pending_message and rec.position_state == state.id:
            # Resumed: show the same line again, with what was recorded when it was generated.
            return ShownLine(
                text=rec.pending_message,
                latency_s=rec.pending_latency_s or 0.0,
                model=rec.pending_model or self._configured_npc_model(),
                prompt_tokens=rec.pending_prompt_tokens or 0,
                completion_tokens=rec.pending_completion_tokens or 0,
                fallback=rec.pending_fallback,
                rejected=rec.pending_npc_rejected,
                reject_reasons=rec.pending_npc_reject_reasons,
            )
        npc = self.scenario.npc(state.npc)
        self.events.npc_thinking(npc.id, state)
        base = self.params.npc

        def relay(text: str) -> None:
            self.events.npc_token(npc.id, text)

        params = GenParams(
            max_tokens=base.max_tokens,
            temperature=base.temperature,
            top_p=base.top_p,
            seed=None if self.params.seed is None else self.params.seed + len(self.turns) * 7,
            stop=base.stop,
            on_token=relay,
        )
        started = time.perf_counter()
        line: NpcLine = await generate_line(
            self.npc_model,
            self.scenario,
            state,
            self.lang,
            day,
            past_turns(self.scenario, self.turns),
            player=self.player,
            follow_up=follow_up,
            params=params,
            mode=self.params.housemates,
        )
        latency = time.perf_counter() - started
        self._log("npc", line.completion, day)
        comp = line.completion
        shown = ShownLine(
            text=stored_line(line.text),
            latency_s=latency,
            model=comp.model if comp is not None else None,
            prompt_tokens=comp.prompt_tokens if comp is not None else 0,
            completion_tokens=comp.completion_tokens if comp is not None else 0,
            fallback=line.fallback,
            rejected=len(line.rejected),
            reject_reasons=json.dumps(line.rejected),
        )
        npc_name = npc.name.get(self.lang)
        pending = {
            "pending_model": shown.model,
            "pending_prompt_tokens": shown.prompt_tokens,
            "pending_completion_tokens": shown.completion_tokens,
            "pending_latency_s": shown.latency_s,
            "pending_fallback": shown.fallback,
            "pending_npc_rejected": shown.rejected,
            "pending_npc_reject_reasons": shown.reject_reasons,
        }
        self.store.set_pending(
            rec.id,
            npc_name,
            shown.text,
            model=shown.model,
            prompt_tokens=shown.prompt_tokens,
            completion_tokens=shown.completion_tokens,
            latency_s=shown.latency_s,
            fallback=shown.fallback,
            npc_rejected=shown.rejected,
            npc_reject_reasons=shown.reject_reasons,
        )
        self.session = rec.model_copy(
            update={
                "pending_message": shown.text,
                "pending_npc": npc_name,
                "position_state": state.id,
                **pending,
            }
        )
        return shown

    async def step(self) -> TurnRecord | None:
        """Play one turn. Returns the committed turn, or None when the session is already over."""
        if self.fsm.finished:
            return None
        state = self.fsm.current
        day = self.fsm.day
        assert day is not None
        npc = self.scenario.npc(state.npc)
        follow_up_reason = None
        if self.fsm.followups_used > 0 and self.turns:
            follow_up_reason = "the answer was too vague or off-topic"
        shown = await self._npc_line(state, day, follow_up_reason)
        message = shown.text
        self.events.npc_message(npc.id, message, state, follow_up_reason is not None)

        ctx = TurnContext(
            language=self.lang,
            day=day,
            npc_name=npc.name.get(self.lang),
            message=message,
            history=past_turns(self.scenario, self.turns),
            housemates=tuple(n.name.get(self.lang) for n in self.scenario.npcs),
            state_id=state.id,
            dimension=state.mbti,
            poles={k: v.get(self.lang) for k, v in state.poles.items()} if state.poles else None,
        )
        self.events.awaiting_reply(ctx)
        started = time.perf_counter()
        reply = await self.user.reply(ctx)
        user_latency = time.perf_counter() - started
        self._log("user", reply.completion, day)
        text = sanitize_input(reply.text)

        self.events.checking(text)
        started = time.perf_counter()
        check = await check_reply(
            self.check_model,
            state,
            message,
            text,
            seed=self.params.seed,
            gate=self.params.relevance,
            language=self.lang,
            others=other_days_lines(self.scenario, day, self.lang),
        )
        check_latency = time.perf_counter() - started
        self._log("check", check.completion, day)

        was_followup = self.fsm.followups_used > 0
        decision = self.fsm.decide(check.answered)
        pos = self.fsm.position()
        usage = [c for c in (reply.completion, check.completion) if c is not None]
        turn = TurnRecord(
            session_id=self.session.id,
            day=day,
            idx=self._next_idx(day),
            state_id=state.id,
            npc=npc.name.get(self.lang),
            mbti=state.mbti,
            message=message,
            response=text,
            verdict=decision,
            is_followup=was_followup,
            model=shown.model,
            npc_latency_s=shown.latency_s,
            user_latency_s=user_latency,
            check_latency_s=check_latency,
            prompt_tokens=shown.prompt_tokens + sum(c.prompt_tokens for c in usage),
            completion_tokens=shown.completion_tokens + sum(c.completion_tokens for c in usage),
            check_by=check.by,  # type: ignore[arg-type]
            check_reason=check.reason,
            npc_fallback=shown.fallback,
            npc_rejected=shown.rejected,
            npc_reject_reasons=shown.reject_reasons,
            reply_fallback=reply.fallback,
            stance=json.dumps(reply.stance, ensure_ascii=False) if reply.stance is not None else None,
            reply_resampled=reply.resampled,
        )
        self.store.append_turn(turn, pos, complete=self.fsm.finished)
        self.turns.append(turn)
        self.session = self.session.model_copy(
            update={"position_state": pos.state, **dict.fromkeys(_PENDING_FIELDS)}
        )
        self.events.turn_committed(turn, check)
        if self.fsm.finished or self.fsm.day != day:
            self.events.day_finished(day)
        if self.fsm.finished:
            done = self.store.get_session(self.session.id)
            assert done is not None
            self.session = done
            self.events.session_finished(done)
        return turn

    async def run(self, *, until_day_end: bool = False) -> SessionRecord:
        """Play until the session ends (or, with ``until_day_end``, until the current day ends)."""
        start_day = self.fsm.day
        while not self.fsm.finished:
            await self.step()
            if until_day_end and self.fsm.day != start_day:
                break
        got = self.store.get_session(self.session.id)
        assert got is not None
        return got
