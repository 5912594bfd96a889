"""The DuckDB session store: connection, migrations, and the repository functions.

Every write is one short transaction; a turn and the session's new position are committed
together, so a process that dies loses at most the turn that was being played.

DuckDB lets one process at a time open a file for writing. A store opened with ``shared=True``
holds the file only for each outermost operation (open, work, commit, close), waiting a bounded
time for the lock, so that many processes (the games of ``sharehouse serve``) can use one file.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from sharehouse.settings import env_name, get_settings
from sharehouse.store.records import LLMCallRecord, Position, SessionRecord, TurnRecord
from sharehouse.store.schema import MIGRATIONS

DB_ENV = env_name("db")
BUSY_WAIT_S = 10.0  # how long opening a database waits for another process holding it
# How long a shared store's operation waits for its turn at the file. Ten writers committing as fast
# as they can on two cores at load 8 waited 4 s at most (bench/RESULTS.md); games wait far less.
SHARED_WAIT_S = 30.0


class StoreError(RuntimeError):
    """A store problem explained for a person (path, what happened, what to do)."""


class StoreBusyError(StoreError):
    """Another process holds the database."""


def default_db_path() -> Path:
    """``$SHAREHOUSE_DB``, else ``sessions/sharehouse.duckdb`` under the working directory."""
    configured = get_settings().db
    if configured is not None:
        return configured
    return Path.cwd() / "sessions" / "sharehouse.duckdb"


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


_SESSION_COLS = [
    "id", "kind", "source", "run_id", "user_id", "persona_id", "language", "scenario_id",
    "scenario_hash", "llm_config", "status", "failure_reason", "position_day", "position_state",
    "followups_used", "pending_message", "pending_npc", "pending_model", "pending_prompt_tokens",
    "pending_completion_tokens", "pending_latency_s", "pending_fallback", "pending_npc_rejected",
    "pending_npc_reject_reasons", "origin", "attempts", "created_at",
    "updated_at",
]  # fmt: skip
_TURN_COLS = list(TurnRecord.model_fields)


def _session_filter(*, ids: Sequence[str] | None = None, **equal: str | None) -> tuple[str, list[Any]]:
    """The ``WHERE`` clause (empty, or with a leading space) and parameters selecting the sessions
    whose columns equal the given values (None: any) and, when ``ids`` is given, with one of those ids."""
    where: list[str] = []
    params: list[Any] = []
    for col, val in equal.items():
        if val is not None:
            where.append(f"{col} = ?")
            params.append(val)
    if ids:
        where.append(f"id IN ({', '.join('?' for _ in ids)})")
        params.extend(ids)
    return (" WHERE " + " AND ".join(where) if where else ""), params


class Store:
    """One DuckDB file. Thread-safe within a process (calls are serialised by a lock).

    By default the file is opened once and held until :meth:`close`: no other process can write to
    it meanwhile. With ``shared=True`` no connection is held between operations: each outermost
    operation (``execute``, ``fetchall``, ``fetchone``, ``transaction`` and the methods built on
    them) opens the file, waiting up to ``wait_s`` (default :data:`SHARED_WAIT_S`) for its turn,
    does its work, commits and closes; operations nested in a transaction use its connection. A
    longer wait raises :class:`StoreBusyError` and the operation changes nothing. Opening without
    ``shared`` waits up to ``wait_s`` (default :data:`BUSY_WAIT_S`) for a process holding the file.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        read_only: bool = False,
        wait_s: float | None = None,
        shared: bool = False,
    ):
        self.path = Path(path) if path is not None else default_db_path()
        self.read_only = read_only
        self.shared = shared
        self.wait_s = wait_s if wait_s is not None else SHARED_WAIT_S if shared else BUSY_WAIT_S
        self._lock = threading.RLock()
        self._in_tx = 0
        self._conn: duckdb.DuckDBPyConnection | None = None
        if not read_only:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the directory for the database {self.path}: {exc}") from exc
        elif not self.path.exists():
            raise StoreError(f"no database at {self.path}")
        if not shared:
            self._conn = self._connect(self.wait_s)
        with self._connection():  # shared: open, migrate, close
            if not read_only:
                self.migrate()
            self._refresh_columns()

    # -- connection -------------------------------------------------------------------------
    def _connect(self, wait_s: float) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + wait_s
        delay = 0.1
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=self.read_only)
            except duckdb.IOException as exc:
                msg = str(exc)
                if "lock" in msg.lower():
                    if time.monotonic() < deadline:
                        time.sleep(delay)
                        delay = min(delay * 2, 1.0)
                        continue
                    if self.shared:
                        raise self._busy(msg.splitlines()[0]) from exc
                    raise StoreBusyError(
                        f"the database {self.path} is in use by another sharehouse process "
                        f"(waited {wait_s:.0f} s). Close it, or use another --db. ({msg.splitlines()[0]})"
                    ) from exc
                if "read-only" in msg.lower() or "permission" in msg.lower():
                    raise StoreError(f"cannot open the database {self.path} for writing: {msg}") from exc
                raise StoreError(f"cannot open the database {self.path}: {msg}") from exc
            except duckdb.Error as exc:
                raise StoreError(f"cannot open the database {self.path}: {exc}") from exc

    def _busy(self, detail: str) -> StoreBusyError:
        return StoreBusyError(
            f"the database {self.path} stayed busy for {self.wait_s:g} s (other processes were using "
            f"it); nothing of this step was saved, try it again ({detail})"
        )

    @contextmanager
    def _queue(self) -> Iterator[float]:
        """Shared mode: wait (at most ``wait_s``) for this operation's turn at the file among the
        shared stores, by locks on two files beside it. ``<db>.lock`` is the turn: writers one at
        a time, readers together. ``<db>.queue`` is the place next in line: only its holder may
        take the turn, so a process that has just had its turn cannot take it again before the
        one already next in line. Trying these locks costs a system call, where trying DuckDB's
        own costs opening the database. Yields the time left to open the database (a process that
        opens the file without ``shared`` does not queue here, hence that wait)."""
        deadline = time.monotonic() + self.wait_s
        next_in_line = self._flock(".queue", fcntl.LOCK_EX, deadline)
        try:
            turn = self._flock(".lock", fcntl.LOCK_SH if self.read_only else fcntl.LOCK_EX, deadline)
        finally:
            os.close(next_in_line)  # closing a file lets go of its lock
        try:
            yield max(0.0, deadline - time.monotonic())
        finally:
            os.close(turn)

    def _flock(self, suffix: str, mode: int, deadline: float) -> int:
        """The descriptor of ``<db><suffix>``, locked (``flock``) in ``mode`` before ``deadline``."""
        path = self.path.with_name(self.path.name + suffix)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot open the lock file {path}: {exc}") from exc
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise self._busy(f"waiting at {path}") from None
                time.sleep(random.uniform(0.001, 0.004))  # at random: waiters do not retry in step

    @contextmanager
    def _connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The connection for one operation: the held one, or (shared, outermost) the file opened
        for this operation and closed after it."""
        with self._lock:
            if self._conn is not None:
                yield self._conn
                return
            with self._queue() as left_s:
                conn = self._connect(left_s)
                self._conn = conn
                try:
                    yield conn
                finally:
                    self._conn = None
                    conn.close()

    @property
    def conn(self) -> duckdb.DuckDBPyConnection:
        """The open connection. A shared store has one only during an operation."""
        if self._conn is None:
            raise StoreError(f"the shared store {self.path} is open only during an operation")
        return self._conn

    def close(self) -> None:
        with self._lock:
            if not self.shared and self._conn is not None:
                self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A transaction; nested use joins the outer one."""
        with self._lock:
            if self._in_tx:
                self._in_tx += 1
                try:
                    yield self.conn
                finally:
                    self._in_tx -= 1
                return
            with self._connection() as conn:
                conn.execute("BEGIN TRANSACTION")
                self._in_tx = 1
                try:
                    yield conn
                except BaseException:
                    self._in_tx = 0
                    conn.execute("ROLLBACK")
                    raise
                else:
                    self._in_tx = 0
                    try:
                        conn.execute("COMMIT")
                    except duckdb.Error as exc:
                        raise StoreError(f"could not commit to {self.path}: {exc}") from exc

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> duckdb.DuckDBPyConnection:
        """Run one statement. A shared store has closed the returned connection: read results with
        :meth:`fetchall` or :meth:`fetchone`."""
        with self._connection() as conn:
            return conn.execute(sql, params or [])

    def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        with self._connection() as conn:
            return conn.execute(sql, params or []).fetchall()

    def fetchone(self, sql: str, params: Sequence[Any] | None = None) -> tuple[Any, ...] | None:
        with self._connection() as conn:
            return conn.execute(sql, params or []).fetchone()

    # -- columns ----------------------------------------------------------------------------
    def _refresh_columns(self) -> None:
        """The select lists of sessions and turns. A database opened read-only may predate the latest
        migration (it cannot be migrated then): columns it lacks read as NULL."""
        rows = self.fetchall(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_name IN ('sessions', 'turns') AND table_schema = current_schema()"
        )
        have: dict[str, set[str]] = {"sessions": set(), "turns": set()}
        for table, column in rows:
            have[table].add(column)

        def select_list(table: str, cols: list[str]) -> str:
            if not have[table]:  # no such table yet: select the names and let the query say so
                return ", ".join(cols)
            return ", ".join(c if c in have[table] else f"NULL AS {c}" for c in cols)

        self._session_select = select_list("sessions", _SESSION_COLS)
        self._turn_select = select_list("turns", _TURN_COLS)

    @property
    def turn_select(self) -> str:
        """The ``SELECT`` list of every :class:`TurnRecord` field, in field order, for this database."""
        return self._turn_select

    # -- migrations -------------------------------------------------------------------------
    def schema_version(self) -> int:
        with self._connection() as conn:
            exists = conn.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
            ).fetchone()
            if not exists or not exists[0]:
                return 0
            row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
            return int(row[0]) if row else 0

    def migrate(self) -> list[int]:
        """Apply every migration not yet applied. Returns the versions applied."""
        applied: list[int] = []
        with self._connection() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, name TEXT, applied_at TIMESTAMP DEFAULT current_timestamp)"
            )
            current = self.schema_version()
            known = max(m.version for m in MIGRATIONS)
            if current > known:
                raise StoreError(
                    f"the database {self.path} has schema version {current}, newer than this sharehouse "
                    f"knows ({known}); upgrade sharehouse"
                )
            for mig in sorted(MIGRATIONS, key=lambda m: m.version):
                if mig.version <= current:
                    continue
                with self.transaction() as conn:
                    for stmt in mig.statements:
                        conn.execute(stmt)
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [mig.version, mig.name]
                    )
                applied.append(mig.version)
        if applied and hasattr(self, "_turn_select"):
            self._refresh_columns()
        return applied

    # -- runs -------------------------------------------------------------------------------
    def upsert_run(self, run_id: str, kind: str, config: dict[str, Any] | None = None) -> None:
        with self.transaction() as conn:
            row = conn.execute("SELECT id FROM runs WHERE id = ?", [run_id]).fetchone()
            if row:
                conn.execute(
                    "UPDATE runs SET status = 'running', updated_at = current_timestamp WHERE id = ?",
                    [run_id],
                )
            else:
                conn.execute(
                    "INSERT INTO runs (id, kind, config) VALUES (?, ?, ?)",
                    [run_id, kind, json.dumps(config or {}, ensure_ascii=False)],
                )

    def set_run_status(self, run_id: str, status: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE runs SET status = ?, updated_at = current_timestamp WHERE id = ?", [status, run_id]
            )

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        row = self.fetchone(
            "SELECT id, kind, config, status, created_at, updated_at FROM runs WHERE id = ?", [run_id]
        )
        if not row:
            return None
        return {
            "id": row[0], "kind": row[1], "config": json.loads(row[2]) if row[2] else {},
            "status": row[3], "created_at": row[4], "updated_at": row[5],
        }  # fmt: skip

    # -- sessions ---------------------------------------------------------------------------
    def create_session(self, rec: SessionRecord) -> SessionRecord:
        values = rec.model_dump()
        values["llm_config"] = (
            json.dumps(rec.llm_config, ensure_ascii=False) if rec.llm_config is not None else None
        )
        cols = [c for c in _SESSION_COLS if c not in ("created_at", "updated_at")]
        with self.transaction() as conn:
            conn.execute(
                f"INSERT INTO sessions ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                [values[c] for c in cols],
            )
        got = self.get_session(rec.id)
        assert got is not None
        return got

    def _row_to_session(self, row: tuple[Any, ...]) -> SessionRecord:
        data = dict(zip(_SESSION_COLS, row, strict=True))
        if data["llm_config"] is not None:
            data["llm_config"] = json.loads(data["llm_config"])
        return SessionRecord(**data)

    def get_session(self, session_id: str) -> SessionRecord | None:
        row = self.fetchone(f"SELECT {self._session_select} FROM sessions WHERE id = ?", [session_id])
        return self._row_to_session(row) if row else None

    def find_session(self, prefix: str) -> SessionRecord | None:
        """A session by full id or unique id prefix."""
        exact = self.get_session(prefix)
        if exact:
            return exact
        rows = self.fetchall(
            f"SELECT {self._session_select} FROM sessions WHERE id LIKE ? LIMIT 2", [prefix + "%"]
        )
        return self._row_to_session(rows[0]) if len(rows) == 1 else None

    def list_sessions(
        self,
        *,
        run_id: str | None = None,
        source: str | None = None,
        language: str | None = None,
        status: str | None = None,
        kind: str | None = None,
        user_id: str | None = None,
        ids: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[SessionRecord]:
        where, params = _session_filter(
            run_id=run_id,
            source=source,
            language=language,
            status=status,
            kind=kind,
            user_id=user_id,
            ids=ids,
        )
        sql = f"SELECT {self._session_select} FROM sessions{where} ORDER BY created_at, id"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [self._row_to_session(r) for r in self.fetchall(sql, params)]

    def session_partitions(
        self,
        *,
        run_id: str | None = None,
        source: str | None = None,
        language: str | None = None,
        status: str | None = None,
        ids: Sequence[str] | None = None,
    ) -> list[tuple[str, str, str | None]]:
        """``(id, language, run_id)`` of the sessions :meth:`list_sessions` would list for the same
        filters, grouped by language and run (sessions of no run last), in its order within a group.
        A few bytes per session: for exports that read the sessions themselves a batch at a time."""
        where, params = _session_filter(
            run_id=run_id, source=source, language=language, status=status, ids=ids
        )
        rows = self.fetchall(
            f"SELECT id, language, run_id FROM sessions{where} ORDER BY language, run_id NULLS LAST, created_at, id",
            params,
        )
        return [(str(r[0]), str(r[1]), r[2]) for r in rows]

    def turn_counts(self, session_ids: Sequence[str] | None = None) -> dict[str, int]:
        sql = "SELECT session_id, count(*) FROM turns"
        params: list[Any] = []
        if session_ids is not None:
            if not session_ids:
                return {}
            sql += f" WHERE session_id IN ({', '.join('?' for _ in session_ids)})"
            params = list(session_ids)
        sql += " GROUP BY session_id"
        return {r[0]: int(r[1]) for r in self.fetchall(sql, params)}

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
    ) -> None:
        """Remember the NPC line being shown (and what produced it), so a resumed session shows the
        same line and its turn still records the model, usage, fallback flag and rejected lines."""
        values = [
            npc, message, model, prompt_tokens, completion_tokens, latency_s, fallback,
            npc_rejected, npc_reject_reasons, session_id,
        ]  # fmt: skip
        with self.transaction() as conn:
            conn.execute(
                "UPDATE sessions SET pending_npc = ?, pending_message = ?, pending_model = ?, "
                "pending_prompt_tokens = ?, pending_completion_tokens = ?, pending_latency_s = ?, "
                "pending_fallback = ?, pending_npc_rejected = ?, pending_npc_reject_reasons = ?, "
                "updated_at = current_timestamp WHERE id = ?",
                values,
            )

    def set_position(self, session_id: str, pos: Position) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE sessions SET position_day = ?, position_state = ?, followups_used = ?, "
                "updated_at = current_timestamp WHERE id = ?",
                [pos.day, pos.state, pos.followups_used, session_id],
            )

    def append_turn(
        self, turn: TurnRecord, position: Position | None = None, *, complete: bool = False
    ) -> None:
        """Commit one turn together with the session's new position (one transaction)."""
        values = turn.model_dump()
        cols = [c for c in _TURN_COLS if c != "created_at" or values[c] is not None]
        with self.transaction() as conn:
            conn.execute(
                f"INSERT INTO turns ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                [values[c] for c in cols],
            )
            if position is not None:
                conn.execute(
                    "UPDATE sessions SET position_day = ?, position_state = ?, followups_used = ?, "
                    "pending_message = NULL, pending_npc = NULL, pending_model = NULL, "
                    "pending_prompt_tokens = NULL, pending_completion_tokens = NULL, pending_latency_s = NULL, "
                    "pending_fallback = NULL, pending_npc_rejected = NULL, pending_npc_reject_reasons = NULL, "
                    "updated_at = current_timestamp"
                    + (", status = 'complete'" if complete else "")
                    + " WHERE id = ?",
                    [position.day, position.state, position.followups_used, turn.session_id],
                )

    def set_status(self, session_id: str, status: str, reason: str | None = None) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE sessions SET status = ?, failure_reason = ?, updated_at = current_timestamp WHERE id = ?",
                [status, reason, session_id],
            )

    def bump_attempts(self, session_id: str) -> int:
        with self.transaction() as conn:
            conn.execute("UPDATE sessions SET attempts = attempts + 1 WHERE id = ?", [session_id])
            row = conn.execute("SELECT attempts FROM sessions WHERE id = ?", [session_id]).fetchone()
        return int(row[0]) if row else 0

    def load_turns(self, session_id: str) -> list[TurnRecord]:
        rows = self.fetchall(
            f"SELECT {self._turn_select} FROM turns WHERE session_id = ? ORDER BY day, idx", [session_id]
        )
        return [TurnRecord(**dict(zip(_TURN_COLS, r, strict=True))) for r in rows]

    def log_llm_call(self, rec: LLMCallRecord) -> None:
        values = rec.model_dump()
        cols = list(values)
        with self.transaction() as conn:
            conn.execute(
                f"INSERT INTO llm_calls ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                [values[c] for c in cols],
            )

    # -- user views -------------------------------------------------------------------------
    def user_history(
        self, user_id: str, *, days: Sequence[int] = (1, 2, 3, 4), source: str | None = None
    ) -> list[TurnRecord]:
        """A user's turns on the given days, over their most recent session that has them.

        User ids are only unique within a source: imported files are named by their stem (``en_1``),
        so two datasets imported under different sources both have an ``en_1``. Give ``source`` to
        say whose history is meant; without it, a user id found under more than one source is
        ambiguous and gets no history (rather than another person's).
        """
        sql = "SELECT id, source FROM sessions WHERE user_id = ?"
        params: list[Any] = [user_id]
        if source is not None:
            sql += " AND source = ?"
            params.append(source)
        rows = self.fetchall(sql + " ORDER BY (status = 'complete') DESC, updated_at DESC", params)
        if source is None and len({src for _, src in rows}) > 1:
            return []
        for sid, _ in rows:
            turns = [t for t in self.load_turns(sid) if t.day in days]
            if turns:
                return turns
        return []

    def history_replies(self, user_id: str, *, source: str | None = None) -> list[str] | None:
        """The user's day 1-4 replies, or None when the user is not in the store (or, without
        ``source``, is ambiguous: see :meth:`user_history`)."""
        turns = self.user_history(user_id, source=source)
        return [t.response for t in turns] if turns else None

    def delete_session(self, session_id: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM turns WHERE session_id = ?", [session_id])
            conn.execute("DELETE FROM llm_calls WHERE session_id = ?", [session_id])
            conn.execute("DELETE FROM sessions WHERE id = ?", [session_id])
