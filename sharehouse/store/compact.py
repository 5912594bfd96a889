"""Rewriting a store file so that deleted rows leave no bytes behind.

DuckDB marks deleted rows and freed blocks but does not overwrite them: after a participant's
data is deleted (:func:`sharehouse.study.participants.withdraw`), their replies can still be read
from the file's bytes until those blocks happen to be reused. :func:`compact_store` copies every
table into a new file (``COPY FROM DATABASE``: the schema with its keys and indexes, then the live
rows) and puts it in the old one's place with one rename.

The copy and the rename happen during one turn at the file as a shared store takes it
(:class:`~sharehouse.store.db.Store` with ``shared=True``): the games of ``sharehouse serve`` wait
for their turn (up to their bound) and then open the new file. A process that opened the store
without ``shared`` (another command) could still write to the old copy: stop those first. A long
copy makes the games wait; compact when few are playing.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import duckdb
from pydantic import BaseModel

from sharehouse.store.db import Store, StoreError


class CompactReport(BaseModel):
    path: str
    bytes_before: int
    bytes_after: int


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def compact_store(path: str | Path, *, wait_s: float | None = None) -> CompactReport:
    """Rewrite the store at ``path`` with its live rows only; :class:`StoreError` when it cannot
    (the file is left as it was). ``wait_s``: how long to wait for the turn at the file (default:
    the shared stores' bound)."""
    target = Path(path)
    if not target.is_file():
        raise StoreError(f"no database at {target}")
    before = target.stat().st_size
    fresh = target.parent / f".{target.name}.compact-{uuid.uuid4().hex[:8]}"
    store = Store(target, shared=True, wait_s=wait_s)
    try:
        # one turn at the file, as a shared writer takes it, until the new file is in place
        with store._connection() as conn:
            _copy_live_rows(conn, target, fresh)
            os.replace(fresh, target)
    except duckdb.Error as exc:
        raise StoreError(f"cannot compact {target}: {exc}") from exc
    finally:
        store.close()
        fresh.unlink(missing_ok=True)
        Path(f"{fresh}.wal").unlink(missing_ok=True)
    return CompactReport(path=str(target), bytes_before=before, bytes_after=target.stat().st_size)


def _copy_live_rows(conn: duckdb.DuckDBPyConnection, target: Path, fresh: Path) -> None:
    """Copy the open database into the new file ``fresh`` and check every table's row count."""
    conn.execute("CHECKPOINT")
    (name,) = conn.execute("SELECT current_database()").fetchone() or ("",)
    attach_path = fresh.as_posix().replace("'", "''")
    conn.execute(f"ATTACH '{attach_path}' AS sharehouse_compact")
    try:
        conn.execute(f"COPY FROM DATABASE {_quoted(name)} TO sharehouse_compact")
    finally:
        conn.execute("DETACH sharehouse_compact")
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
    ]
    check = duckdb.connect(str(fresh), read_only=True)
    try:
        for table in tables:
            want = conn.execute(f"SELECT count(*) FROM {_quoted(table)}").fetchone()
            got = check.execute(f"SELECT count(*) FROM {_quoted(table)}").fetchone()
            if want != got:
                raise StoreError(f"compacting {target}: table {table} copied {got} rows of {want}")
    finally:
        check.close()
