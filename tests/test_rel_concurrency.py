"""Two processes on one database: the second one waits for the lock, then either goes on safely
or stops with a clear message and a non-zero exit code. Never a traceback, never a torn write."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

from faultserver import FaultConfig, FaultServer, cli_env, sharehouse_argv

from sharehouse.store import Store, StoreBusyError
from sharehouse.store.integrity import check_integrity


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        sharehouse_argv(*args), env=cli_env(), capture_output=True, text=True, timeout=timeout
    )


def test_sessions_list_while_another_process_holds_the_db(tmp_path: Path) -> None:
    db = tmp_path / "held.duckdb"
    with Store(db):
        started = time.monotonic()
        out = _run("sessions", "list", "--db", str(db))
        waited = time.monotonic() - started
    assert out.returncode == 2
    assert "in use by another sharehouse process" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert waited >= 9  # it waited (10 s) for the other process before giving up


def test_sessions_list_waits_for_a_short_lock(tmp_path: Path) -> None:
    db = tmp_path / "brief.duckdb"
    holder = Store(db)
    release = threading.Timer(2.0, holder.close)
    release.start()
    try:
        out = _run("sessions", "list", "--db", str(db))
    finally:
        release.cancel()
        holder.close()
    assert out.returncode == 0, out.stderr
    assert "0 session(s)" in out.stdout


def test_in_process_busy_error_is_a_store_error(tmp_path: Path) -> None:
    db = tmp_path / "busy.duckdb"
    Store(db).close()
    code = (
        "import sys\n"
        "from sharehouse.store import Store, StoreBusyError\n"
        f"s = Store({str(db)!r})\n"
        "print('held', flush=True)\n"
        "sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [__import__("sys").executable, "-c", code],
        env=cli_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        try:
            Store(db, wait_s=0.5)
        except StoreBusyError as exc:
            assert str(db) in str(exc) and "another sharehouse process" in str(exc)
        else:
            raise AssertionError("a second process opened a database another one holds")
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    Store(db, wait_s=0.5).close()  # free again once the holder is gone


def test_two_simulates_on_one_db(tmp_path: Path) -> None:
    """The second run waits while the first holds the database, then resumes the same run and
    finds nothing left to do: no session or turn is played twice."""
    db = tmp_path / "shared.duckdb"
    with FaultServer(FaultConfig(latency_s=0.03, lifetime_s=200)) as srv:
        cmd = sharehouse_argv(
            "simulate", "--db", str(db), "--model", "openai/fake", "--api-base", srv.api_base, "--run", "twice",
            "--personas", "3", "--days", "1", "--concurrency", "3", "--no-progress",
        )  # fmt: skip
        first = subprocess.Popen(
            cmd, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 60
        while srv.total == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert srv.total > 0, "the first simulate never reached the model"
        second = subprocess.run(cmd, env=cli_env(), capture_output=True, text=True, timeout=120)
        out1, err1 = first.communicate(timeout=120)
    assert first.returncode == 0, out1[-2000:] + err1[-2000:]
    assert "Traceback" not in err1 + second.stderr
    # Either it got the database once the first had finished (and found the run already played,
    # see the turn counts below), or it gave up waiting and said why.
    if second.returncode != 0:
        assert second.returncode == 2
        assert "in use by another sharehouse process" in second.stderr
    with Store(db, read_only=True) as store:
        assert check_integrity(store) == []
        sessions = store.list_sessions(run_id="twice")
        assert len(sessions) == 3
        # each session answered its three day-1 questions once: the second process played nothing
        # again (follow-ups in between, the fake replies being often non-committal or off-topic)
        moved = {
            s.id: [t.state_id for t in store.load_turns(s.id) if t.verdict in ("advance", "forced")]
            for s in sessions
        }
        assert all(len(states) == len(set(states)) == 3 for states in moved.values()), moved
