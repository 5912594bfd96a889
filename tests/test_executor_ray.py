"""``--executor ray`` on a real local Ray cluster (two workers, one CPU and one llama.cpp thread
each) and the real local:small model: simulate's sessions and evaluate's LoRA user as Ray tasks,
their turns and predictions stored by this process.

The scenario is cut to two questions on day 1 without follow-ups, so every session plays exactly
two turns and sessions are comparable turn by turn; the inline reference plays one of the two
personas (the shape of a session does not depend on the persona). That keeps the file to a few
minutes on a two-core machine (4-6 under `nice` beside jobs holding the load average at 5-6).

The killed worker is killed when this process has stored a counted number of its session's turns
(never after a sleep): a worker runs at most one message ahead of what the driver has stored
(``STREAM_AHEAD``) and its next turn needs a model call, so the kill always lands in the middle
of the session.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sharehouse.scenario import Scenario
from sharehouse.scenario.load import default_scenario_path, parse_scenario
from sharehouse.simulate import RunStats, SimulateOptions, run_simulate, session_id_for
from sharehouse.simulate_events import (
    RunFinished,
    SessionOnWorker,
    SessionWorkerLost,
    SimulateEvent,
    TurnCommitted,
)
from sharehouse.store import Store, TurnRecord
from sharehouse.store.integrity import check_integrity

PERSONAS = ["p-en-001", "p-ja-001"]
KILLED = PERSONAS[0]  # the session whose first worker is killed
KILL_AFTER_TURNS = 1  # ... once this many of its turns are stored (it has two)


def _two_questions() -> Scenario:
    """The shipped scenario with day 1 cut to its first two questions, neither followed up."""
    data = json.loads(default_scenario_path().read_text(encoding="utf-8"))
    states = data["days"][0]["states"][:2]
    states[-1]["next"] = None
    for state in states:
        state["max_followups"] = 0
    data["days"][0]["states"] = states
    return parse_scenario(data)


def _options(run_id: str, personas: list[str], **more: Any) -> SimulateOptions:
    return SimulateOptions(
        persona_ids=personas, model="local:small", concurrency=2, days=1, temperature=0.0, run_id=run_id,
        relevance_gate=False, progress=False, **more,
    )  # fmt: skip


@dataclass
class Killer:
    """Watches the Ray run's events and kills the first worker of :data:`KILLED`'s session once
    :data:`KILL_AFTER_TURNS` of its turns are stored."""

    sid: str
    events: list[SimulateEvent] = field(default_factory=list)
    pid: int | None = None
    stored: int = 0
    killed: int | None = None

    def __call__(self, event: SimulateEvent) -> None:
        self.events.append(event)
        if isinstance(event, SessionOnWorker) and event.session_id == self.sid and event.attempt == 1:
            self.pid = event.pid
        if isinstance(event, TurnCommitted) and event.session_id == self.sid:
            self.stored += 1
            if self.stored == KILL_AFTER_TURNS:
                assert self.pid is not None and self.killed is None
                os.kill(self.pid, signal.SIGKILL)
                self.killed = self.pid


@dataclass
class Played:
    store: Store
    inline: RunStats
    ray: RunStats
    killer: Killer

    def turns(self, run_id: str, persona: str) -> list[TurnRecord]:
        return self.store.load_turns(session_id_for(run_id, persona))


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory, small_model: Any) -> Iterator[Played]:
    """One persona played inline (on this process's model), for reference, then both on Ray (a
    model per worker), into one store."""
    import ray

    scenario = _two_questions()
    store = Store(tmp_path_factory.mktemp("ray") / "runs.duckdb")
    killer = Killer(session_id_for("ray", KILLED))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SHAREHOUSE_THREADS", "1")  # a worker's CPUs and llama.cpp threads
        inline = asyncio.run(
            run_simulate(
                store, _options("inline", [KILLED]), scenario=scenario, npc_model=small_model,
                user_model=small_model,
            )
        )  # fmt: skip
        on_ray = asyncio.run(
            run_simulate(store, _options("ray", PERSONAS, executor="ray"), scenario=scenario, observer=killer)
        )
    assert not ray.is_initialized()  # the local cluster was stopped with the run
    yield Played(store, inline.stats, on_ray.stats, killer)
    store.close()


@pytest.mark.model
def test_a_ray_run_stores_every_turn_as_an_inline_run_does(played: Played) -> None:
    assert played.inline.failed == played.ray.failed == 0
    finished = [e for e in played.killer.events if isinstance(e, RunFinished)]
    assert len(finished) == 1 and finished[0].turns == 2 * len(PERSONAS)
    inline = played.store.get_session(session_id_for("inline", KILLED))
    assert inline is not None and (inline.status, inline.position_day) == ("active", 2)
    reference = played.turns("inline", KILLED)
    purposes = "SELECT DISTINCT purpose FROM llm_calls WHERE session_id = ? ORDER BY 1"
    for persona in PERSONAS:
        on_ray = played.store.get_session(session_id_for("ray", persona))
        assert on_ray is not None
        assert (on_ray.status, on_ray.position_day, on_ray.persona_id) == ("active", 2, persona)
        assert on_ray.llm_config is not None and inline.llm_config is not None
        assert on_ray.llm_config.keys() == inline.llm_config.keys()
        npc = on_ray.llm_config["npc"]  # what each worker built: one session per model
        assert (npc["backend"], npc["model"], npc["batched"], npc["state_cache_bytes"]) == (
            "local", "small", False, 1 << 30,
        )  # fmt: skip
        turns = played.turns("ray", persona)
        assert [(t.day, t.idx, t.state_id) for t in turns] == [(t.day, t.idx, t.state_id) for t in reference]
        for x, y in zip(reference, turns, strict=True):  # the same fields filled in, turn by turn
            assert {k for k, v in y.model_dump().items() if v is None} == {
                k for k, v in x.model_dump().items() if v is None
            }
            assert y.response and y.message and y.verdict in ("advance", "forced")
        assert played.store.fetchall(purposes, [on_ray.id]) == played.store.fetchall(purposes, [inline.id])
    assert check_integrity(played.store) == []


@pytest.mark.model
def test_a_killed_worker_s_session_resumes_on_another(played: Played) -> None:
    killer = played.killer
    sid = killer.sid
    assert killer.killed is not None
    with pytest.raises(ProcessLookupError):
        os.kill(killer.killed, 0)  # the worker is gone
    placed = [e for e in killer.events if isinstance(e, SessionOnWorker) and e.session_id == sid]
    assert [e.attempt for e in placed] == [1, 2] and placed[1].pid != killer.killed
    lost = [e for e in killer.events if isinstance(e, SessionWorkerLost)]
    assert [(e.session_id, e.stored_turns) for e in lost] == [(sid, KILL_AFTER_TURNS)]
    committed = [
        (e.day, e.idx) for e in killer.events if isinstance(e, TurnCommitted) and e.session_id == sid
    ]
    assert committed == [(1, 0), (1, 1)]  # each turn committed once, in order
    turns = played.turns("ray", KILLED)
    assert [(t.day, t.idx) for t in turns] == [(1, 0), (1, 1)]  # contiguous, none twice
    assert played.ray.per_session[sid].workers_lost == 1 and played.ray.workers_lost == 1
    other = session_id_for("ray", PERSONAS[1])
    assert [e.attempt for e in killer.events if isinstance(e, SessionOnWorker) and e.session_id == other] == [
        1
    ]


@pytest.mark.model
def test_evaluate_fits_and_predicts_a_lora_user_on_ray(tmp_path: Path, yntp_dir: Path) -> None:
    """One user, one training step, one day-5 turn (as tests/test_eval_training.py keeps LoRA
    short): fitted on a Ray worker, its prediction and status stored here, the llama.cpp model never
    loaded, and the local cluster stopped afterwards."""
    import ray

    from evaluator.request import EvalOptions, EvalParams
    from evaluator.runner import run_evaluation
    from evaluator.task import build_tasks
    from sharehouse.io import import_yntp
    from sharehouse.store.evaluation import load_predictions, load_user_status

    (tmp_path / "data" / "en").mkdir(parents=True)
    shutil.copy(yntp_dir / "en" / "en_1.json", tmp_path / "data" / "en" / "en_1.json")
    store = Store(tmp_path / "eval.duckdb")
    import_yntp(store, tmp_path / "data")
    tasks, _ = build_tasks(store, source="yntp100", max_tests=1)
    extra = {
        "max_steps": 1,
        "max_new_tokens": 6,
        "threads": 1,
        "lr": 1e-3,
        "context_turns": 0,
        "max_len": 160,
    }
    options = EvalOptions(
        methods=["lora"], models=["local:small"], params=EvalParams(extra=extra, score=False), concurrency=2,
        executor="ray",
    )  # fmt: skip
    kinds: list[str] = []
    run_id = run_evaluation(store, tasks, options, on_event=lambda e: kinds.append(e.kind))
    assert not ray.is_initialized()
    assert "model_loaded" not in kinds and kinds.count("predicted") == 1
    (pred,) = load_predictions(store, run_id, method="lora")
    assert pred.user_id == "en_1" and pred.raw and pred.completion_tokens and pred.latency_s
    assert pred.params["method_params"]["steps"] == 1
    (status,) = load_user_status(store, run_id)
    assert status.status == "ok" and status.fit_info is not None and status.fit_info["steps"] == 1
    assert status.fit_latency_s and status.fit_latency_s > 0
    store.close()


# -- the options, refused before any work (no model, no cluster) ----------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "--ray-address", "auto"], "--ray-address needs --executor ray"),
        (["simulate", "--executor", "spark"], "expected one of inline, ray"),
        (["simulate", "--executor", "ray", "--batched", "--personas", "1"], "each worker plays one session"),
        (["evaluate", "--executor", "ray", "--tui"], "drop --executor"),
    ],
)
def test_executor_options_are_checked(tmp_path: Path, args: list[str], message: str) -> None:
    from sharehouse.cli import app

    result = CliRunner().invoke(app, [*args, "--db", str(tmp_path / "x.duckdb")])
    assert result.exit_code == 2
    assert message in " ".join(result.output.replace("│", " ").split())
