"""Serving benchmark (issue 16): several participants at once on one shared model server.

``sharehouse serve`` starts llama-cpp-python's OpenAI-compatible server once and every game process
reaches it through the litellm backend. This measures that set-up with ``--participants`` simulated
participants playing at the same moment, each a process of its own running the real
:class:`SessionRunner` on the shared store (``Store(shared=True)``) with the model as the game builds
it (``load_model("openai/<alias>", api_base=...)``) and scripted replies that answer day 1's
questions. Nobody types, so the replies come at once (``--think`` adds seconds between turns):
this is more load than people make.

Figures: the latency of a housemate line (the NPC call, as the store's ``llm_calls`` records it,
queueing at the server included) and of the reply check; the wait between a reply and the next
line (one engine step: check, commit, next line); turns lost (committed by a game but missing from
the store: must be 0); the resident memory of the model server and of each game process (sampled
every half second, peak); the load average before and ``uptime`` after.

    .venv/bin/python -m bench.bench_serve [--model local] [--participants 5] [--turns 6] [--think 0] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import ROOT, current_rss_mb, load_average, markdown_table, peak_rss_mb, publish

SECTION = "Serve: participants at once on one model server (bench/bench_serve.py)"
#: One reply per day-1 and day-2 question, in the scenario's order (a follow-up takes the next one).
REPLIES = [
    "I'd keep it quiet and enjoy it privately, maybe tell only my family.",
    "I'd sit down first and make a careful budget before spending anything.",
    "Honestly I'd chase a big dream and travel the world for a year.",
    "I'd talk to them gently first, they might have had a rough week.",
    "A fixed system with labels and dates sounds good to me, it avoids fights.",
    "I'd talk about it privately, one-on-one, so nobody feels embarrassed.",
    "I picture the overall mood first, warm light and plants everywhere.",
    "I'd pick the cosy layout Noel loves, feeling at home matters most.",
]


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MiB (0 once it has ended)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def _participant(
    db: str, api_base: str, model: str, turns: int, think_s: float, index: int
) -> dict[str, Any]:
    """One game: wait for "go" on stdin, then play ``turns`` turns as fast as the model allows."""
    from sharehouse.engine.session import EngineParams, SessionRunner, start_session
    from sharehouse.engine.users import ScriptedUser
    from sharehouse.llm import load_model, parse_spec
    from sharehouse.scenario import load_scenario
    from sharehouse.scenario.load import default_scenario_path
    from sharehouse.store import Store

    scenario = load_scenario(default_scenario_path())
    store = Store(db, shared=True)
    config = parse_spec(model, api_base=api_base).model_dump()
    rec = start_session(store, scenario, kind="human", source="bench-serve", user_id=f"bench-{index}",
                        language="en", llm_config=config)  # fmt: skip
    npc = load_model(model, api_base=api_base)
    runner = SessionRunner(store, scenario, rec.id, npc_model=npc, user=ScriptedUser(REPLIES),
                           params=EngineParams(seed=index))  # fmt: skip
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    steps: list[float] = []
    errors: list[str] = []
    for _ in range(turns):
        began = time.perf_counter()
        try:
            await runner.step()
        except Exception as exc:  # reported, never hidden: a lost turn shows in the table
            errors.append(f"{type(exc).__name__}: {exc}")
            break
        steps.append(time.perf_counter() - began)
        if runner.finished:
            break
        if think_s:
            await asyncio.sleep(think_s)
    return {
        "session_id": rec.id, "committed": len(runner.turns), "steps": steps, "errors": errors,
        "rss_mb": current_rss_mb(), "peak_rss_mb": peak_rss_mb(),
    }  # fmt: skip


@dataclass
class Sampler:
    """Samples the resident memory of some processes every half second; keeps each one's peak."""

    pids: dict[str, int]
    peaks: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, pid in self.pids.items():
                self.peaks[name] = max(self.peaks.get(name, 0.0), rss_mb(pid))
            self._stop.wait(0.5)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        return self.peaks


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _row(label: str, values: list[float]) -> list[str]:
    if not values:
        return [label, "0", "-", "-", "-"]
    return [
        label,
        str(len(values)),
        f"{statistics.median(values):.1f}",
        f"{_pct(values, 0.9):.1f}",
        f"{max(values):.1f}",
    ]


async def _real_game(port: int, db: Path, index: int, reply: str) -> str:
    """One browser-like connection to ``sharehouse serve``: enrol (keys as xterm.js sends them) and
    answer the first question; returns the participant's session id once the turn is stored. The
    websocket is read all along (as a browser does), which also answers the server's heartbeat."""
    import aiohttp

    from sharehouse.store import Store
    from sharehouse.study.codes import CODE_ALPHABET
    from sharehouse.study.participants import find_by_code

    url = f"http://127.0.0.1:{port}/ws?width=120&height=40"
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        drawn: list[str] = []
        more = asyncio.Event()

        async def read() -> None:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.BINARY:
                    drawn.append(msg.data.decode("utf-8", "replace"))
                    more.set()

        reader = asyncio.create_task(read())
        seen = 0

        async def until(pattern: str) -> str:
            nonlocal seen
            async with asyncio.timeout(600):
                while not (found := re.search(pattern, "".join(drawn)[seen:])):
                    if reader.done():
                        raise RuntimeError(f"game {index}: the connection closed")
                    more.clear()
                    await more.wait()
            seen += found.end()
            return found.group(0)

        async def keys(*data: str) -> None:
            for item in data:
                await ws.send_json(["stdin", item])
                await asyncio.sleep(0.2)

        await until("I'm new")
        await keys("\r")
        await until("I agree")
        await keys("\t", "\r")
        await until("What should the game call you")
        await keys(f"bench{index}", "\r")
        await until("Your resume code")
        code = await until(f"[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}")
        await keys("\r")
        store = Store(db, shared=True)
        participant = await asyncio.to_thread(find_by_code, store, code)
        assert participant is not None
        sid = participant.session_id
        async with asyncio.timeout(600):
            while True:  # the day's first line is the scenario's own: it waits at once
                rec = await asyncio.to_thread(store.get_session, sid)
                if rec is not None and rec.pending_message:
                    break
                await asyncio.sleep(0.5)
            await asyncio.sleep(2)
            await keys(reply, "\r")
            while not await asyncio.to_thread(store.load_turns, sid):
                await asyncio.sleep(1)
        reader.cancel()
        return sid


def measure_games(endpoint_base: str, model: str, games: int, tmp: Path) -> tuple[list[float], float]:
    """``games`` real game processes under ``sharehouse serve`` (on the given model server), each
    enrolled and past its first question; returns each one's peak resident memory and serve's own."""
    from sharehouse.serving.model_server import free_port

    port = free_port()
    db = tmp / "games.duckdb"
    log = (tmp / "serve.log").open("w")
    serve = subprocess.Popen(
        [sys.executable, "-m", "sharehouse.cli", "serve", "--port", str(port), "--db", str(db),
         "--api-base", endpoint_base, "--model", model],
        stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while "serving the game on" not in (tmp / "serve.log").read_text():
            if serve.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"serve did not start: {(tmp / 'serve.log').read_text()}")
            time.sleep(0.2)
        peaks: dict[int, float] = {}
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                out = subprocess.run(
                    ["ps", "-o", "pid=", "--ppid", str(serve.pid)], capture_output=True, text=True
                )
                for pid in (int(p) for p in out.stdout.split()):
                    peaks[pid] = max(peaks.get(pid, 0.0), rss_mb(pid))
                stop.wait(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()

        async def all_games() -> list[str]:
            return await asyncio.gather(*(_real_game(port, db, i, REPLIES[0]) for i in range(games)))

        asyncio.run(all_games())
        serve_mb = rss_mb(serve.pid)
        stop.set()
        sampler.join()
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=120)
        log.close()
    return sorted(peaks.values()), serve_mb


def run(spec: str, participants: int, turns: int, think_s: float, games: int, tmp: Path) -> str:
    from sharehouse.serving.model_server import ModelServer, gguf_for
    from sharehouse.store import Store

    load_before = load_average()
    db = tmp / "serve.duckdb"
    Store(db, shared=True).close()  # created and migrated once, as `serve` does
    began = time.perf_counter()
    server = ModelServer(gguf_for(spec), log_path=tmp / "model-server.log")
    endpoint = server.start()
    ready_s = time.perf_counter() - began
    procs: list[subprocess.Popen[str]] = []
    try:
        assert server.pid is not None
        idle_server_mb = rss_mb(server.pid)
        cmd = [sys.executable, "-m", "bench.bench_serve", "--child", str(db), endpoint.api_base,
               endpoint.litellm_model, str(turns), str(think_s)]  # fmt: skip
        procs = [
            subprocess.Popen(
                [*cmd, str(i)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
            for i in range(participants)
        ]
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        sampler = Sampler({"server": server.pid, **{f"game{i}": p.pid for i, p in enumerate(procs)}})
        started = time.perf_counter()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        results = []
        for p in procs:
            out, _ = p.communicate(timeout=3600)
            if p.returncode != 0:
                raise SystemExit(f"a participant process failed (exit {p.returncode})")
            results.append(json.loads(out.splitlines()[-1]))
        wall_s = time.perf_counter() - started
        peaks = sampler.stop()
        game_rss, serve_rss = (
            measure_games(endpoint.api_base, endpoint.litellm_model, games, tmp) if games else ([], 0.0)
        )
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        server.stop()
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()

    with Store(db, read_only=True) as store:
        ids = [r["session_id"] for r in results]
        turns_of = {sid: store.load_turns(sid) for sid in ids}
        stored = {sid: len(turns) for sid, turns in turns_of.items()}
        calls = store.fetchall(
            f"SELECT purpose, latency_s, attempts FROM llm_calls WHERE session_id IN ({', '.join('?' for _ in ids)})",
            ids,
        )
    npc = [float(c[1]) for c in calls if c[0] == "npc" and c[1] is not None]
    check = [float(c[1]) for c in calls if c[0] == "check" and c[1] is not None]
    retried = sum(1 for c in calls if (c[2] or 1) > 1)
    steps = [s for r in results for s in r["steps"]]
    committed = sum(r["committed"] for r in results)
    lost = sum(max(0, r["committed"] - stored[r["session_id"]]) for r in results)
    errors = [e for r in results for e in r["errors"]]
    all_turns = [turn for turns in turns_of.values() for turn in turns]
    checked_by = {
        by: sum(1 for turn in all_turns if turn.check_by == by) for by in ("rule", "llm", "fallback")
    }
    written_lines = sum(1 for turn in all_turns if turn.npc_fallback)
    worker_peaks = [v for k, v in peaks.items() if k.startswith("game")]
    table = markdown_table(
        ["latency (s)", "n", "median", "p90", "max"],
        [
            _row("housemate line (NPC call, queueing included)", npc),
            _row("reply check (judge call)", check),
            _row("reply to next line (one engine step: check, commit, next line)", steps),
        ],
    )
    games_line = (
        f"{len(game_rss)} real game processes (`play --participant` under `sharehouse serve`, driven over "
        f"its websocket like a browser: consent, nickname, first answer): {statistics.median(game_rss):.0f} MiB "
        f"median, {max(game_rss):.0f} MiB max each; `serve` itself {serve_rss:.0f} MiB. "
        if game_rss
        else ""
    )
    return (
        f"{participants} participants at once, {turns} turns each (day 1 onwards, English), "
        f"{'no pause' if not think_s else f'{think_s:.0f} s pause'} between turns; one llama-cpp-python "
        f"server on {spec} ({server.n_threads} threads, ready in {ready_s:.0f} s); each participant a "
        f"process running the engine with the litellm backend `{endpoint.litellm_model}` on the shared store.\n\n"
        f"{table}\n\n"
        f"Turns committed {committed}, in the store {sum(stored.values())}, **lost {lost}**; "
        f"failed games {len(errors)}{' (' + '; '.join(errors) + ')' if errors else ''}; "
        f"model calls retried {retried} of {len(calls)} (a game's litellm timeout is 60 s); replies checked "
        f"by rule {checked_by['rule']}, by the model {checked_by['llm']}, accepted unchecked because the "
        f"judge failed {checked_by['fallback']}; housemate lines replaced by the scenario's own "
        f"{written_lines}. Wall time {wall_s:.0f} s.\n\n"
        f"Memory (resident, peak): model server {peaks.get('server', 0):.0f} MiB (idle after loading "
        f"{idle_server_mb:.0f} MiB); a participant process {statistics.median(worker_peaks):.0f} MiB median. "
        f"{games_line}\n\n"
        f"Load average before: {load_before}; `uptime` after: {uptime}."
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up as Ctrl-C does (the model server, the participants)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--model", default="local", help="local model the server runs (local, local:small, .gguf)"
    )
    ap.add_argument("--participants", type=int, default=5)
    ap.add_argument("--turns", type=int, default=6, help="turns each participant plays")
    ap.add_argument("--think", type=float, default=0.0, help="seconds between a line and the reply")
    ap.add_argument("--games", type=int, default=5, help="real game processes measured for memory (0: none)")
    ap.add_argument("--write", action="store_true", help="store the figures in bench/RESULTS.md")
    ap.add_argument("--child", nargs=6, metavar="ARG", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        db, api_base, model, turns, think, index = args.child
        result = asyncio.run(_participant(db, api_base, model, int(turns), float(think), int(index)))
        print(json.dumps(result), flush=True)
        return
    signal.signal(signal.SIGTERM, _interrupt)
    with tempfile.TemporaryDirectory() as tmp:
        text = run(args.model, args.participants, args.turns, args.think, args.games, Path(tmp))
    publish(SECTION, text, write=args.write)


if __name__ == "__main__":
    main()
