"""The typed events a simulate run reports (sharehouse.simulate_events), against a real loopback API
server and a real DuckDB file: their order per session, one TurnCommitted per stored turn, and the
run's stats counted from them, on a first run, a resume, a --no-resume rerun and a failing session."""

from __future__ import annotations

from pathlib import Path

from faultserver import FaultConfig, FaultServer

from sharehouse.llm import load_model
from sharehouse.scenario import Scenario
from sharehouse.simulate import RUN_INCOMPLETE, SimulateOptions, run_simulate
from sharehouse.simulate_events import (
    RunFinished,
    RunStarted,
    SessionFailed,
    SessionFinished,
    SessionSkipped,
    SessionStarted,
    SimulateEvent,
    TurnCommitted,
)
from sharehouse.store import Store


def _by_session(events: list[SimulateEvent]) -> dict[str, list[SimulateEvent]]:
    out: dict[str, list[SimulateEvent]] = {}
    for e in events:
        sid = getattr(e, "session_id", None)
        if sid is not None:
            out.setdefault(sid, []).append(e)
    return out


async def test_an_observer_sees_each_session_start_commit_every_turn_and_finish(
    tmp_path: Path, scenario: Scenario
) -> None:
    events: list[SimulateEvent] = []
    with FaultServer(FaultConfig(rates={}, lifetime_s=120)) as srv, Store(tmp_path / "ev.duckdb") as store:
        model = load_model("openai/fake", api_base=srv.api_base, timeout_s=5.0)
        opts = SimulateOptions(n_personas=2, model="openai/fake", api_base=srv.api_base, concurrency=2, days=1,
                               run_id="ev", progress=False, relevance_gate=False)  # fmt: skip
        result = await run_simulate(store, opts, scenario=scenario, npc_model=model, observer=events.append)

        assert events[0] == RunStarted(run_id="ev", sessions=2, concurrency=2)
        sessions = store.list_sessions(run_id="ev")
        per_session = _by_session(events)
        assert set(per_session) == {s.id for s in sessions} == set(result.session_ids)
        for rec in sessions:
            turns = store.load_turns(rec.id)
            assert turns  # day 1 was played
            first, *middle, last = per_session[rec.id]
            assert first == SessionStarted(rec.id, rec.persona_id or "", rec.language, resumed=False)
            committed = [e for e in middle if isinstance(e, TurnCommitted)]
            assert committed == middle
            # one event per stored turn, in the store's order, with what was stored
            assert [(e.day, e.idx, e.state_id, e.verdict, e.completion_tokens) for e in committed] == [
                (t.day, t.idx, t.state_id, t.verdict, t.completion_tokens or 0) for t in turns
            ]
            assert isinstance(last, SessionFinished)
            assert (last.status, last.turns) == ("active", len(turns))  # days left: active, not complete
            assert last.seconds > 0
        total = sum(len(store.load_turns(s.id)) for s in sessions)
        assert events[-1] == RunFinished(run_id="ev", status=RUN_INCOMPLETE, failed=0, turns=total)
        assert [type(e) for e in events].count(TurnCommitted) == total

        # The stats are the events counted: the same numbers, row by row.
        stats = result.stats
        assert (stats.total, stats.done, stats.failed, stats.settled, stats.running) == (2, 2, 0, 2, 0)
        assert stats.turns == total
        assert stats.completion_tokens == sum(
            e.completion_tokens for e in events if isinstance(e, TurnCommitted)
        )
        assert {sid: (s.status, s.turns, s.note) for sid, s in stats.per_session.items()} == {
            s.id: ("active", len(store.load_turns(s.id)), "") for s in sessions
        }

        # The same run again: each session resumed at day 2, which --days 1 does not play.
        again: list[SimulateEvent] = []
        await run_simulate(store, opts, scenario=scenario, npc_model=model, observer=again.append)
        for rec in sessions:
            assert _by_session(again)[rec.id] == [
                SessionStarted(rec.id, rec.persona_id or "", rec.language, resumed=True),
                SessionFinished(rec.id, "active", turns=0, seconds=_seconds(again, rec.id)),
            ]

        # --no-resume: each session is skipped with the turns it has stored.
        skipped: list[SimulateEvent] = []
        no_resume = opts.model_copy(update={"resume": False})
        await run_simulate(store, no_resume, scenario=scenario, npc_model=model, observer=skipped.append)
        assert [type(e) for e in skipped] == [RunStarted, SessionSkipped, SessionSkipped, RunFinished]
        counts = store.turn_counts([s.id for s in sessions])
        assert {
            (e.session_id, e.status, e.turns, e.note) for e in skipped if isinstance(e, SessionSkipped)
        } == {(s.id, "active", counts[s.id], "not resumed (--no-resume)") for s in sessions}


def _seconds(events: list[SimulateEvent], sid: str) -> float:
    return next(e.seconds for e in events if isinstance(e, SessionFinished) and e.session_id == sid)


class _RaisesFor:
    """A real model that raises for every call whose prompt names ``marker`` (one persona's name)."""

    def __init__(self, inner, marker: str) -> None:
        self.inner, self.marker, self.name = inner, marker, inner.name

    async def complete(self, messages, params):
        if any(self.marker in m["content"] for m in messages):
            raise KeyError("slot")
        return await self.inner.complete(messages, params)

    def close(self) -> None:
        self.inner.close()


async def test_a_failing_session_reports_its_stored_reason(tmp_path: Path, scenario: Scenario) -> None:
    from sharehouse.simulate import select_personas

    events: list[SimulateEvent] = []
    victim, other = select_personas(SimulateOptions(n_personas=2))
    with FaultServer(FaultConfig(rates={}, lifetime_s=120)) as srv, Store(tmp_path / "f.duckdb") as store:
        model = load_model("openai/fake", api_base=srv.api_base, timeout_s=5.0)
        opts = SimulateOptions(n_personas=2, model="openai/fake", api_base=srv.api_base, concurrency=1, days=1,
                               run_id="fail", progress=False, relevance_gate=False)  # fmt: skip
        result = await run_simulate(
            store, opts, scenario=scenario, npc_model=model, user_model=_RaisesFor(model, victim.name),
            observer=events.append,
        )  # fmt: skip
        by_persona = {s.persona_id: s for s in store.list_sessions(run_id="fail")}
        failed = by_persona[victim.id]
        assert failed.status == "failed" and failed.failure_reason
        (ev,) = [e for e in events if isinstance(e, SessionFailed)]
        assert (ev.session_id, ev.reason, ev.turns) == (failed.id, failed.failure_reason, 0)
        assert [type(e) for e in _by_session(events)[failed.id]] == [SessionStarted, SessionFailed]
        assert isinstance(_by_session(events)[by_persona[other.id].id][-1], SessionFinished)
        # the other session has days left: the run is incomplete, not failed-sessions
        assert events[-1] == RunFinished(
            run_id="fail", status=RUN_INCOMPLETE, failed=1, turns=result.stats.turns
        )
        row = result.stats.per_session[failed.id]
        assert (row.status, row.reason) == ("failed", failed.failure_reason)
        assert (result.stats.failed, result.stats.done) == (1, 1)
