"""The DuckDB store: migrations, turns with positions, transactions, locking, integrity."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from sharehouse.store import Position, SessionRecord, Store, StoreBusyError, StoreError, TurnRecord
from sharehouse.store.integrity import check_integrity
from sharehouse.store.schema import MIGRATIONS


def _session(store: Store, sid: str = "s-1", **kw) -> SessionRecord:
    rec = SessionRecord(id=sid, kind="simulated", source="simulate", user_id="p-1", language="en", **kw)
    return store.create_session(rec)


def test_migrations_apply_once_and_record_version(tmp_path: Path) -> None:
    path = tmp_path / "a.duckdb"
    s = Store(path)
    latest = max(m.version for m in MIGRATIONS)
    assert s.schema_version() == latest
    assert s.migrate() == []  # idempotent
    s.close()
    s2 = Store(path)
    assert s2.schema_version() == latest
    s2.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.duckdb"
    Store(path).close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')")
    con.close()
    with pytest.raises(StoreError, match="newer than this sharehouse"):
        Store(path)


def test_turn_and_position_commit_together(store: Store) -> None:
    _session(store, position_day=1, position_state="a")
    store.set_pending("s-1", "Leo", "hello?")
    assert store.get_session("s-1").pending_message == "hello?"
    turn = TurnRecord(
        session_id="s-1", day=1, idx=0, npc="Leo", message="hello?", response="hi", verdict="advance"
    )
    store.append_turn(turn, Position(day=1, state="b", followups_used=0))
    got = store.get_session("s-1")
    assert (got.position_day, got.position_state, got.pending_message) == (1, "b", None)
    assert [t.response for t in store.load_turns("s-1")] == ["hi"]


def test_duplicate_turn_is_rejected_and_position_unchanged(store: Store) -> None:
    _session(store, position_day=1, position_state="a")
    turn = TurnRecord(session_id="s-1", day=1, idx=0, npc="Leo", message="m", response="r")
    store.append_turn(turn, Position(day=1, state="b"))
    with pytest.raises(duckdb.Error):
        store.append_turn(turn, Position(day=2, state="z"))
    got = store.get_session("s-1")
    assert got.position_state == "b"  # the failed transaction changed nothing
    assert len(store.load_turns("s-1")) == 1


def test_complete_flag_and_history(store: Store) -> None:
    _session(store, position_day=5, position_state="x")
    for day in (1, 2, 5):
        store.append_turn(
            TurnRecord(session_id="s-1", day=day, idx=0, npc="N", message=f"m{day}", response=f"r{day}")
        )
    store.append_turn(
        TurnRecord(session_id="s-1", day=5, idx=1, npc="N", message="m", response="bye"),
        Position(day=None, state=None),
        complete=True,
    )
    assert store.get_session("s-1").status == "complete"
    assert store.history_replies("p-1") == ["r1", "r2"]
    assert store.history_replies("nobody") is None


def test_list_filters_and_prefix_lookup(store: Store) -> None:
    _session(store, "s-abc", run_id="r1")
    _session(store, "s-abd", run_id="r2")
    assert [r.id for r in store.list_sessions(run_id="r1")] == ["s-abc"]
    assert store.find_session("s-abc").id == "s-abc"
    assert store.find_session("s-ab") is None  # ambiguous
    assert store.find_session("s-abd"[:5]) is not None


def test_integrity_reports_orphans_and_gaps(store: Store) -> None:
    _session(store)
    store.append_turn(TurnRecord(session_id="s-1", day=1, idx=0, npc="N", message="m", response="r"))
    assert check_integrity(store) == []
    store.append_turn(TurnRecord(session_id="s-1", day=1, idx=2, npc="N", message="m", response="r"))
    store.append_turn(TurnRecord(session_id="ghost", day=1, idx=0, npc="N", message="m", response="r"))
    problems = check_integrity(store)
    assert any("gap" in p for p in problems)
    assert any("belong to no session" in p for p in problems)


def test_second_process_gets_a_clear_busy_error(tmp_path: Path) -> None:
    path = tmp_path / "busy.duckdb"
    Store(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import time, duckdb
            con = duckdb.connect({str(path)!r})
            print("ready", flush=True)
            time.sleep(20)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        started = time.monotonic()
        with pytest.raises(StoreBusyError, match="in use by another sharehouse process"):
            Store(path, wait_s=1.0)
        assert time.monotonic() - started < 10
    finally:
        holder.kill()
        holder.wait()


def test_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create the directory"):
        Store(blocker / "sub" / "db.duckdb")
    with pytest.raises(StoreError, match="no database"):
        Store(tmp_path / "missing.duckdb", read_only=True)


def _old_database(path: Path, upto: int) -> None:
    """A database as an older sharehouse left it: only the migrations up to ``upto`` applied."""
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, "
        "applied_at TIMESTAMP DEFAULT current_timestamp)"
    )
    for mig in MIGRATIONS:
        if mig.version <= upto:
            for stmt in mig.statements:
                con.execute(stmt)
            con.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [mig.version, mig.name]
            )
    con.execute(
        "INSERT INTO sessions (id, kind, source, user_id, language, pending_message, pending_npc) "
        "VALUES ('s-old', 'simulated', 'simulate', 'p-1', 'en', 'still there?', 'Leo')"
    )
    con.execute(
        "INSERT INTO turns (session_id, day, idx, npc, message, response, verdict, model) "
        "VALUES ('s-old', 1, 0, 'Leo', 'hi?', 'hello', 'advance', 'local:small')"
    )
    con.close()


def test_turn_diagnostics_migration_keeps_old_rows(tmp_path: Path) -> None:
    from sharehouse.store.bulk import load_turns_for

    path = tmp_path / "old.duckdb"
    _old_database(path, upto=3)
    # Read-only (sessions list/show, export) cannot migrate: the new columns read as empty.
    with Store(path, read_only=True) as ro:
        assert ro.schema_version() == 3
        [turn] = ro.load_turns("s-old")
        assert (turn.response, turn.check_by, turn.npc_fallback, turn.reply_fallback) == (
            "hello",
            None,
            None,
            None,
        )
        assert load_turns_for(ro, ["s-old"])["s-old"] == [turn]
        [sess] = ro.list_sessions()
        assert sess.pending_message == "still there?" and sess.pending_model is None
    with Store(path) as rw:
        assert rw.schema_version() == max(m.version for m in MIGRATIONS) >= 4
        [turn] = rw.load_turns("s-old")
        assert turn.model == "local:small" and turn.check_by is None
        rw.append_turn(
            TurnRecord(
                session_id="s-old", day=1, idx=1, npc="Leo", message="again?", response="ok",
                verdict="advance", check_by="fallback", check_reason="judge unavailable (LLMError)",
                npc_fallback=True, reply_fallback=False,
            )
        )  # fmt: skip
        new = rw.load_turns("s-old")[1]
        assert (new.check_by, new.check_reason, new.npc_fallback, new.reply_fallback) == (
            "fallback", "judge unavailable (LLMError)", True, False,
        )  # fmt: skip
    with Store(path, read_only=True) as ro:
        assert check_integrity(ro) == []


def test_pending_line_records_its_model_and_usage(store: Store) -> None:
    _session(store, position_day=1, position_state="a")
    store.set_pending("s-1", "Leo", "hello?", model="local:small", prompt_tokens=120, completion_tokens=30,
                      latency_s=1.5, fallback=False)  # fmt: skip
    got = store.get_session("s-1")
    assert (got.pending_model, got.pending_prompt_tokens, got.pending_completion_tokens) == (
        "local:small",
        120,
        30,
    )
    assert got.pending_latency_s == 1.5 and got.pending_fallback is False
    store.append_turn(
        TurnRecord(session_id="s-1", day=1, idx=0, npc="Leo", message="hello?", response="hi"),
        Position(day=1, state="b"),
    )
    done = store.get_session("s-1")
    assert (done.pending_message, done.pending_model, done.pending_prompt_tokens, done.pending_fallback) == (
        None, None, None, None,
    )  # fmt: skip


def test_user_history_is_source_aware(store: Store) -> None:
    """Imported user ids are file stems: en_1 of one dataset is not en_1 of another."""
    for sid, source, reply in (("a", "yntp100", "from yntp100"), ("b", "mydata", "from mydata")):
        store.create_session(
            SessionRecord(
                id=sid, kind="human", source=source, user_id="en_1", language="en", status="complete"
            )
        )
        store.append_turn(
            TurnRecord(session_id=sid, day=1, idx=0, npc="DaVinci", message="m", response=reply)
        )
    assert store.history_replies("en_1", source="yntp100") == ["from yntp100"]
    assert store.history_replies("en_1", source="mydata") == ["from mydata"]
    assert store.history_replies("en_1") is None  # ambiguous: nobody's history rather than the wrong one
    assert store.history_replies("en_1", source="other") is None
    store.delete_session("b")
    assert store.history_replies("en_1") == ["from yntp100"]
