"""The game and ``sharehouse simulate`` on one database. The game holds the database (as
``sharehouse play`` does) for as long as it is open. A ``simulate`` started meanwhile waits for it.
If the game is closed within the wait, simulate goes on and finishes. If not, it stops with a clear
message and exit code 2. The game keeps working, and nothing is written half-way. The other way
round, ``sharehouse play`` started while simulate writes stops with the same clear message."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from faultserver import REPO, FaultConfig, FaultServer, cli_env, sharehouse_argv

from sharehouse.engine.session import start_session
from sharehouse.scenario import Scenario
from sharehouse.store import Store
from sharehouse.store.integrity import check_integrity

# The game opened the way ``run_play`` opens it, on its continue screen; it answers commands from
# stdin ("list": reopen the continue screen and report the saved games; "quit": leave).
GAME = textwrap.dedent(
    """
    import asyncio, json, os, sys
    from textual.widgets import OptionList
    from sharehouse.scenario import load_scenario
    from sharehouse.scenario.load import default_scenario_path
    from sharehouse.store import Store
    from sharehouse.tui import SharehouseApp
    from sharehouse.tui.screens import ContinueScreen, QuitScreen, StartScreen

    def say(kind, **data):
        os.write(1, (json.dumps({"kind": kind, **data}) + "\\n").encode())

    async def wait_for(pilot, cond, timeout=60.0):
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not cond():
            if loop.time() > end:
                raise SystemExit("timed out")
            await pilot.pause(0.02)

    async def listing(app, pilot):
        await pilot.click("#continue")
        # settled: the dialog is built again for this opening (it is current before that)
        await wait_for(pilot, lambda: isinstance(app.screen, ContinueScreen) and app.screen.settled)
        games = app.screen.query("#saved-games")
        count = games.first(OptionList).option_count if games else 0
        say("listing", games=count, sessions=len(app.store.list_sessions()))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))

    async def main():
        scenario = load_scenario(default_scenario_path())
        with Store(sys.argv[1]) as store:
            app = SharehouseApp(store, scenario, model_spec="openai/fake", api_base="http://127.0.0.1:9/v1")
            async with app.run_test(size=(120, 40)) as pilot:
                await listing(app, pilot)
                while True:
                    command = (await asyncio.to_thread(sys.stdin.readline)).strip()
                    if command == "list":
                        await listing(app, pilot)
                    else:
                        break
                await pilot.press("ctrl+q")
                await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen))
                await pilot.press("y")
                await wait_for(pilot, lambda: not app.is_running)
        say("closed")

    asyncio.run(main())
    """
)


class Game:
    def __init__(self, script: Path, db: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(script), str(db)],
            env=cli_env(), cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip

    def event(self) -> dict:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"the game ended: {self.proc.stderr.read() if self.proc.stderr else ''}"
        return json.loads(line)

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def close(self) -> str:
        self.send("quit")
        out, err = self.proc.communicate(timeout=60)
        assert self.proc.returncode == 0, err[-3000:]
        assert "Traceback" not in err
        return out


def _simulate(db: Path, api_base: str) -> list[str]:
    return sharehouse_argv(
        "simulate", "--db", str(db), "--model", "openai/fake", "--api-base", api_base, "--run", "beside-tui",
        "--personas", "2", "--days", "1", "--concurrency", "2", "--no-progress",
    )  # fmt: skip


def _db_with_a_saved_game(tmp_path: Path, scenario: Scenario) -> Path:
    db = tmp_path / "shared.duckdb"
    with Store(db) as store:
        start_session(store, scenario, kind="human", source="play", user_id="ren", language="en")
    return db


def test_simulate_while_the_game_is_open(tmp_path: Path, scenario: Scenario) -> None:
    db = _db_with_a_saved_game(tmp_path, scenario)
    script = tmp_path / "game.py"
    script.write_text(GAME)
    with FaultServer(FaultConfig(lifetime_s=200)) as srv:
        # 1. The game stays open past the wait: simulate stops clearly, having written nothing.
        game = Game(script, db)
        assert game.event() == {"kind": "listing", "games": 1, "sessions": 1}
        started = time.monotonic()
        refused = subprocess.run(
            _simulate(db, srv.api_base), env=cli_env(), capture_output=True, text=True, timeout=120
        )
        assert time.monotonic() - started >= 9  # it waited for the game first
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "in use by another sharehouse process" in " ".join(refused.stderr.split())
        assert "Traceback" not in refused.stderr + refused.stdout
        assert srv.total == 0  # it never started playing
        game.send("list")  # the game is unharmed and still lists the same saved game
        assert game.event() == {"kind": "listing", "games": 1, "sessions": 1}
        assert '"closed"' in game.close()

        # 2. The game is closed within the wait: simulate waits, then goes on and finishes.
        game = Game(script, db)
        assert game.event()["kind"] == "listing"
        waiting = subprocess.Popen(
            _simulate(db, srv.api_base),
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(2.0)
        assert waiting.poll() is None and srv.total == 0  # waiting for the database, not playing
        game.close()
        out, err = waiting.communicate(timeout=180)
        assert waiting.returncode == 0, out[-2000:] + err[-2000:]
        assert "Traceback" not in err

        # 3. The game opened again shows what simulate wrote, and its own saved game as before.
        game = Game(script, db)
        assert game.event() == {"kind": "listing", "games": 1, "sessions": 3}
        game.close()
    with Store(db, read_only=True) as store:
        assert check_integrity(store) == []
        assert _answered_per_session(store, "beside-tui") == {3}


def _answered_per_session(store: Store, run_id: str) -> set[int]:
    """Questions answered per session of the run (follow-ups in between: the fake server's replies are
    often non-committal or off-topic for the check)."""
    return {
        sum(t.verdict in ("advance", "forced") for t in store.load_turns(s.id))
        for s in store.list_sessions(run_id=run_id)
    }


def test_play_while_simulate_writes(tmp_path: Path, scenario: Scenario) -> None:
    db = _db_with_a_saved_game(tmp_path, scenario)
    # Slow answers keep simulate inside its run (holding the database) longer than play waits.
    with FaultServer(FaultConfig(latency_s=13.0, lifetime_s=200)) as srv:
        sim = subprocess.Popen(
            _simulate(db, srv.api_base),
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 90
        while srv.total == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert srv.total > 0, "simulate never reached the model"
        play = subprocess.run(
            sharehouse_argv("play", "--db", str(db), "--model", "openai/fake", "--api-base", srv.api_base),
            env=cli_env(), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        srv.config.latency_s = 0.0
        out, err = sim.communicate(timeout=180)
    assert play.returncode == 2, play.stdout + play.stderr
    assert "in use by another sharehouse process" in " ".join(play.stderr.split())
    assert "Traceback" not in play.stderr + play.stdout
    assert sim.returncode == 0, out[-2000:] + err[-2000:]
    with Store(db, read_only=True) as store:
        assert check_integrity(store) == []
        assert len(store.list_sessions(kind="human", source="play")) == 1
        assert _answered_per_session(store, "beside-tui") == {3}
