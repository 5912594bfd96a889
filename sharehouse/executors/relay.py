"""The store and engine hooks a session plays against on a Ray worker, relayed to the driver.

A worker never opens the DuckDB file. It plays against :class:`RelayedStore`: an in-memory copy of
its one session (the record and the turns the driver sent), which answers the turn loop's reads
exactly as the store would, and whose every write is made on the copy and sent to the driver as a
:class:`StoreCall`. The driver makes the same call on its store (:func:`apply_store_call`), so a
turn is committed there, together with the session's new position, by the very method that
commits it in an inline run. The engine hooks a face watches (the live transcript, the run's
events) travel the same way as :class:`HookCall` messages, after the writes they report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sharehouse.engine.checks import CheckResult
from sharehouse.engine.session import EngineEvents
from sharehouse.scenario import State
from sharehouse.store import LLMCallRecord, Position, SessionRecord, Store, TurnRecord

#: The store writes of the turn loop (:class:`sharehouse.engine.session.SessionStore`).
STORE_WRITES = frozenset({"set_pending", "append_turn", "log_llm_call", "set_status", "bump_attempts"})
#: The engine hooks relayed to the driver (the others are a TUI's: tokens, "thinking", ...).
RELAYED_HOOKS = frozenset({"npc_message", "turn_committed", "day_finished"})


@dataclass(frozen=True)
class StoreCall:
    """One write of the turn loop, to be made the same way on the driver's store."""

    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HookCall:
    """One engine hook, to be called the same way on the driver's observer of the session."""

    name: str
    args: tuple[Any, ...]


Send = Callable[[object], None]


class RelayedStore:
    """One session's store on a worker: reads from ``copy`` (an in-memory :class:`Store` holding
    the session as the driver sent it), writes to ``copy`` and, in the same order, to ``send``."""

    def __init__(self, copy: Store, send: Send) -> None:
        self.copy = copy
        self.send = send

    @classmethod
    def holding(cls, session: SessionRecord, turns: list[TurnRecord], send: Send) -> RelayedStore:
        """A relayed store over a new in-memory copy of ``session`` and its stored ``turns``."""
        copy = Store(":memory:")
        copy.create_session(session)
        for turn in turns:
            copy.append_turn(turn)
        return cls(copy, send)

    @property
    def path(self) -> Path:
        return self.copy.path

    def close(self) -> None:
        self.copy.close()

    # -- reads --------------------------------------------------------------------------------
    def get_session(self, session_id: str) -> SessionRecord | None:
        return self.copy.get_session(session_id)

    def load_turns(self, session_id: str) -> list[TurnRecord]:
        return self.copy.load_turns(session_id)

    # -- writes -------------------------------------------------------------------------------
    def set_pending(self, session_id: str, npc: str, message: str, **usage: Any) -> None:
        self.copy.set_pending(session_id, npc, message, **usage)
        self.send(StoreCall("set_pending", (session_id, npc, message), usage))

    def append_turn(
        self, turn: TurnRecord, position: Position | None = None, *, complete: bool = False
    ) -> None:
        self.copy.append_turn(turn, position, complete=complete)
        self.send(StoreCall("append_turn", (turn, position), {"complete": complete}))

    def log_llm_call(self, rec: LLMCallRecord) -> None:
        self.copy.log_llm_call(rec)
        self.send(StoreCall("log_llm_call", (rec,)))

    def set_status(self, session_id: str, status: str, reason: str | None = None) -> None:
        self.copy.set_status(session_id, status, reason)
        self.send(StoreCall("set_status", (session_id, status, reason)))

    def bump_attempts(self, session_id: str) -> int:
        attempts = self.copy.bump_attempts(session_id)
        self.send(StoreCall("bump_attempts", (session_id,)))
        return attempts


class RelayedEvents(EngineEvents):
    """A session's engine hooks on a worker: the relayed ones are sent to the driver."""

    def __init__(self, send: Send) -> None:
        self.send = send

    def npc_message(self, npc_id: str, text: str, state: State, follow_up: bool) -> None:
        self.send(HookCall("npc_message", (npc_id, text, state, follow_up)))

    def turn_committed(self, turn: TurnRecord, check: CheckResult) -> None:
        self.send(HookCall("turn_committed", (turn, check)))

    def day_finished(self, day: int) -> None:
        self.send(HookCall("day_finished", (day,)))


def apply_store_call(store: Store, call: StoreCall) -> None:
    """Make a worker's write on the driver's store (one transaction, as in an inline run)."""
    if call.name not in STORE_WRITES:
        raise ValueError(f"a worker asked for {call.name!r}, which is not a store write of the turn loop")
    getattr(store, call.name)(*call.args, **call.kwargs)


def apply_hook_call(events: EngineEvents, call: HookCall) -> None:
    """Call a worker's engine hook on the driver's observer of the session."""
    if call.name not in RELAYED_HOOKS:
        raise ValueError(f"a worker sent the hook {call.name!r}, which is not relayed")
    getattr(events, call.name)(*call.args)
