"""Store benchmark (issue 16): turn commits per second on one DuckDB file, many writers vs one.

Three figures, each on a fresh file:

- 1 writer, normal mode: one process holds the file and commits turns (``append_turn`` with the
  new position, as the engine commits a turn);
- 1 writer, shared mode: the same, but the file is opened and closed for every commit;
- 10 writers, shared mode: ten processes commit at once, as fast as they can (no model and no
  person in between, so this is the worst contention the games could make).

Every writer commits ``--turns`` turns of its own session. The clock runs from the first commit
(with many writers: from the moment every writer has its store open and its session created) to
the end of the last. The latency of one commit (wait included) is
reported as median, 95th percentile and maximum: the shared store's wait bound is what that
maximum must stay well under.

    .venv/bin/python -m bench.bench_store_shared [--turns 40] [--writers 10] [--write]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import ROOT, load_average, markdown_table, publish
from sharehouse.store.db import SHARED_WAIT_S

SECTION = "Store: many writers on one file (bench/bench_store_shared.py)"


def _commit_turns(db: str, turns: int, shared: bool, go: bool) -> tuple[float, float, list[float]]:
    """Open the store, create a session, (wait for "go" on stdin,) commit ``turns`` turns. Returns
    the wall clock (``time.time()``) at the start of the first and the end of the last commit, and
    the latency of each commit in seconds."""
    from sharehouse.engine.session import start_session
    from sharehouse.scenario import load_scenario
    from sharehouse.scenario.load import default_scenario_path
    from sharehouse.store import Position, Store, TurnRecord

    scenario = load_scenario(default_scenario_path())
    day, state = scenario.ordered_states()[0]
    store = Store(db, shared=shared)
    sid = start_session(store, scenario, kind="human", source="bench", user_id="u", language="en").id
    if go:
        print("ready", flush=True)
        sys.stdin.readline()
    latencies = []
    first = time.time()
    for idx in range(turns):
        turn = TurnRecord(
            session_id=sid, day=day, idx=idx, state_id=state.id, npc="Mina", mbti=state.mbti,
            message="What would you do with the money?", response=f"Reply number {idx}.",
            verdict="follow_up", is_followup=idx > 0,
        )  # fmt: skip
        started = time.perf_counter()
        store.append_turn(turn, Position(day=day, state=state.id, followups_used=min(idx + 1, 2)))
        latencies.append(time.perf_counter() - started)
    last = time.time()
    store.close()
    return first, last, latencies


@dataclass
class Figure:
    label: str
    writers: int
    commits: int
    wall_s: float
    latencies: list[float]

    @property
    def per_s(self) -> float:
        return self.commits / self.wall_s

    def row(self) -> list[str]:
        lat = sorted(self.latencies)
        p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
        return [
            self.label, str(self.writers), str(self.commits), f"{self.wall_s:.1f}", f"{self.per_s:.1f}",
            f"{statistics.median(lat) * 1000:.0f}", f"{p95 * 1000:.0f}", f"{lat[-1] * 1000:.0f}",
        ]  # fmt: skip


def one_writer(db: Path, turns: int, shared: bool) -> Figure:
    first, last, latencies = _commit_turns(str(db), turns, shared, go=False)
    return Figure(f"1 writer, {'shared' if shared else 'normal'} mode", 1, turns, last - first, latencies)


def many_writers(db: Path, turns: int, writers: int) -> Figure:
    from sharehouse.store import Store

    Store(db, shared=True).close()  # created and migrated once, as `serve` would
    cmd = [sys.executable, "-m", "bench.bench_store_shared", "--child", str(db), "--turns", str(turns)]
    procs = [
        subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(writers)
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    started = time.time()
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    latencies: list[float] = []
    ended = started
    for p in procs:
        out, _ = p.communicate(timeout=600)
        if p.returncode != 0:
            raise SystemExit(f"a writer failed (exit {p.returncode})")
        _, last, lat = json.loads(out.splitlines()[-1])
        latencies += lat
        ended = max(ended, last)
    return Figure(f"{writers} writers, shared mode", writers, writers * turns, ended - started, latencies)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turns", type=int, default=40, help="turns committed by each writer")
    ap.add_argument("--writers", type=int, default=10)
    ap.add_argument("--write", action="store_true", help="store the figures in bench/RESULTS.md")
    ap.add_argument("--child", metavar="DB", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_commit_turns(args.child, args.turns, shared=True, go=True)), flush=True)
        return
    load_before = load_average()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        figures = [
            one_writer(Path(tmp) / "normal.duckdb", args.turns, shared=False),
            one_writer(Path(tmp) / "shared1.duckdb", args.turns, shared=True),
            many_writers(Path(tmp) / "shared10.duckdb", args.turns, args.writers),
        ]
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    table = markdown_table(
        ["run", "writers", "commits", "wall s", "commits/s", "latency p50 ms", "p95 ms", "max ms"],
        [f.row() for f in figures],
    )
    normal, single, many = figures
    text = (
        f"One commit = `Store.append_turn` (the turn and the session's new position, one transaction), "
        f"{args.turns} per writer, each writer its own session; the writers do nothing between commits.\n\n"
        f"{table}\n\n"
        f"{many.writers} shared writers together: {many.per_s:.1f} commits/s, "
        f"{many.per_s / normal.per_s:.2f}× one writer holding the file ({normal.per_s:.1f}/s) and "
        f"{many.per_s / single.per_s:.2f}× one shared writer ({single.per_s:.1f}/s). Commits to one file "
        f"are serial, so many writers share one writer's rate, and a shared commit opens and closes the "
        f"database (closing checkpoints the write-ahead log) every time. With {many.writers} writers a "
        f"commit's latency is mostly its wait in line: longest {max(many.latencies):.2f} s, against a "
        f"wait bound of {SHARED_WAIT_S:g} s.\n\n"
        f"Load average before: {load_before}; `uptime` after: {uptime}. "
        f"Wall time of this invocation: {time.perf_counter() - started:.0f} s."
    )
    publish(SECTION, text, write=args.write)


if __name__ == "__main__":
    main()
