"""Many writers, one store: game processes share one DuckDB file in shared mode.

Ten participant processes (``multiwriter_participant.py``) play on one real DuckDB file at once,
each committing its turns through the engine. Some are SIGKILLed at random moments (each when it
reports its k-th turn, k seeded: while it plays its next turn or, if the test reads the line late,
while it waits after that turn, where it is told to stop so that it cannot finish first); every
turn a process reported committed must be in the store, the file must open cleanly and
consistently, and each killed participant's session must be resumable: a new process continues it
from its stored position and plays its part to the end.
A reader in shared mode reads while the writers run. Everything waits on the lines the processes
print, never on the clock (the timeouts only stop a hung test).
"""

from __future__ import annotations

import json
import queue
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from faultserver import cli_env

from sharehouse.store import Store, StoreBusyError
from sharehouse.store.integrity import check_integrity

PARTICIPANT = Path(__file__).with_name("multiwriter_participant.py")
PARTICIPANTS = 10
KILLED = 4
DAYS = 2  # each participant plays days 1 and 2 (three questions a day), a resumed one too
TIMEOUT_S = 120.0  # only a hung test reaches it

Turn = tuple[str, int, int]  # session, day, idx


class Games:
    """Participant processes and one queue of the JSON lines they print (``None`` at their end)."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.procs: dict[str, subprocess.Popen[str]] = {}
        self.lines: queue.Queue[tuple[str, dict[str, Any] | None]] = queue.Queue()

    def start(self, name: str, mode: str, who: str, days: int, hold_after: int = 0) -> None:
        proc = subprocess.Popen(
            [sys.executable, str(PARTICIPANT), str(self.db), mode, who, str(days), str(hold_after)],
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.procs[name] = proc
        threading.Thread(target=self._read, args=(name, proc), daemon=True).start()

    def _read(self, name: str, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.put((name, json.loads(line)))
        self.lines.put((name, None))

    def next(self) -> tuple[str, dict[str, Any] | None]:
        try:
            return self.lines.get(timeout=TIMEOUT_S)
        except queue.Empty:
            raise AssertionError(f"no participant reported anything for {TIMEOUT_S:.0f} s") from None

    def finish(self, name: str) -> int:
        proc = self.procs[name]
        proc.wait(timeout=TIMEOUT_S)
        return proc.returncode

    def stderr(self, name: str) -> str:
        proc = self.procs[name]
        assert proc.stderr is not None
        return proc.stderr.read()[-3000:]

    def kill_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_ten_writers_with_kills_lose_no_committed_turn(tmp_path: Path) -> None:
    db = tmp_path / "study.duckdb"
    reader = Store(db, shared=True)  # creates and migrates the file, as serve would, and holds nothing
    rng = random.Random(16)
    victims = {f"p{i}": rng.randint(1, 5) for i in rng.sample(range(PARTICIPANTS), KILLED)}
    assert max(victims.values()) + 1 <= 3 * DAYS  # a victim's hold comes before the end of its part
    games = Games(db)
    committed: set[Turn] = set()
    session_of: dict[str, str] = {}
    reads_while_writing = 0
    try:
        for i in range(PARTICIPANTS):
            name = f"p{i}"
            games.start(
                name, "new", f"user-{i}", DAYS, hold_after=victims[name] + 1 if name in victims else 0
            )
        running = set(games.procs)
        counts = dict.fromkeys(games.procs, 0)
        while running:
            name, msg = games.next()
            if msg is None:
                running.discard(name)
                continue
            if msg["kind"] == "session":
                session_of[name] = msg["session"]
            elif msg["kind"] == "turn":
                committed.add((msg["session"], msg["day"], msg["idx"]))
                counts[name] += 1
                if victims.get(name) == counts[name]:
                    games.procs[name].send_signal(signal.SIGKILL)
                if len(committed) % 10 == 0:
                    # a reader between the writers sees at least every turn reported so far
                    seen = set(reader.fetchall("SELECT session_id, day, idx FROM turns"))
                    assert committed <= seen, sorted(committed - seen)
                    reads_while_writing += 1
        for name in games.procs:
            code = games.finish(name)
            if name in victims:
                assert code == -signal.SIGKILL, f"{name} was not killed mid-run (exit {code})"
            else:
                assert code == 0, games.stderr(name)
        assert reads_while_writing >= 3

        # Killed participants come back: a new process continues each from its stored position.
        stored_before = {
            name: reader.turn_counts([session_of[name]]).get(session_of[name], 0) for name in victims
        }
        assert all(stored_before[name] >= victims[name] for name in victims), stored_before
        for name in victims:
            games.start(f"{name}-again", "resume", session_of[name], DAYS)
        again = {f"{name}-again" for name in victims}
        while again:
            name, msg = games.next()
            if msg is None:
                again.discard(name)
                assert games.finish(name) == 0, games.stderr(name)
            elif msg["kind"] == "turn":
                turn = (msg["session"], msg["day"], msg["idx"])
                assert turn not in committed, f"{name} played {turn} again"
                committed.add(turn)
    finally:
        games.kill_all()

    # The file opens cleanly, holds every reported turn, and every session is consistent.
    with Store(db) as store:
        stored = set(store.fetchall("SELECT session_id, day, idx FROM turns"))
        assert committed <= stored, sorted(committed - stored)
        assert check_integrity(store) == []
        sessions = {s.id: s for s in store.list_sessions(source="multiwriter")}
        assert len(sessions) == PARTICIPANTS
        for sid in session_of.values():  # every part played to its end, the resumed ones too
            assert (sessions[sid].position_day, sessions[sid].status) == (DAYS + 1, "active")
            assert len(store.load_turns(sid)) >= 3 * DAYS


def test_a_killed_holder_loses_only_its_open_transaction(tmp_path: Path) -> None:
    """SIGKILL while holding the file, with a committed write still only in DuckDB's write-ahead
    log and another transaction open: the next opener replays the log and keeps the committed
    write; the open transaction is gone. (A shared store killed between its commit and its close
    leaves the file in this state.)"""
    db = tmp_path / "killed.duckdb"
    Store(db).close()
    code = (
        "import sys\n"
        "from sharehouse.store import Store\n"
        f"s = Store({str(db)!r})\n"
        "s.execute(\"INSERT INTO runs (id, kind) VALUES ('kept', 'study')\")\n"
        "with s.transaction() as conn:\n"
        "    conn.execute(\"INSERT INTO runs (id, kind) VALUES ('lost', 'study')\")\n"
        "    print('held', flush=True)\n"
        "    sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], env=cli_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        wal = db.with_name(db.name + ".wal")
        assert wal.exists() and wal.stat().st_size > 0  # the committed row is only in the log
        holder.send_signal(signal.SIGKILL)
    finally:
        holder.kill()
        holder.wait(timeout=30)
    store = Store(db, shared=True)
    assert store.fetchall("SELECT id FROM runs ORDER BY id") == [("kept",)]
    assert not wal.exists() or wal.stat().st_size == 0  # replayed, then checkpointed at close


def test_shared_store_holds_the_file_only_during_an_operation(tmp_path: Path) -> None:
    db = tmp_path / "brief.duckdb"
    shared = Store(db, shared=True, wait_s=0.5)
    with shared.transaction() as conn:
        conn.execute("INSERT INTO runs (id, kind) VALUES ('r1', 'study')")
        shared.set_run_status("r1", "done")  # nested: the same connection and transaction
        assert shared.fetchone("SELECT status FROM runs WHERE id = 'r1'") == ("done",)
    # Between operations another process may open the file as its only writer, and meanwhile the
    # shared store waits, then says the file stayed busy and changes nothing.
    code = (
        "import sys\n"
        "from sharehouse.store import Store\n"
        f"s = Store({str(db)!r}, wait_s=5)\n"
        "print('held', flush=True)\n"
        "sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], env=cli_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreBusyError, match="stayed busy .* nothing of this step was saved"):
            shared.set_run_status("r1", "again")
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    assert shared.fetchone("SELECT status FROM runs WHERE id = 'r1'") == ("done",)
