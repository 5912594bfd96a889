"""Set-at-a-time store access for import and export (functions taking a :class:`Store`).

The per-row repository methods on :class:`Store` stay the way to play sessions; these helpers read
or write many turns in one statement, and must be called inside ``store.transaction()`` when
they are part of a larger unit of work.
"""

from __future__ import annotations

from collections.abc import Sequence

from sharehouse.store.db import Store
from sharehouse.store.records import TurnRecord

_TURN_COLS = list(TurnRecord.model_fields)
_INSERT_COLS = [c for c in _TURN_COLS if c != "created_at"]
_CHUNK = 200


def insert_turns(store: Store, turns: Sequence[TurnRecord]) -> int:
    """Insert turns in one transaction (joins an outer one). ``created_at`` takes the default."""
    if not turns:
        return 0
    placeholders = f"({', '.join('?' for _ in _INSERT_COLS)})"
    with store.transaction() as conn:
        for start in range(0, len(turns), _CHUNK):
            chunk = turns[start : start + _CHUNK]
            params = [getattr(t, c) for t in chunk for c in _INSERT_COLS]
            conn.execute(
                f"INSERT INTO turns ({', '.join(_INSERT_COLS)}) VALUES {', '.join(placeholders for _ in chunk)}",
                params,
            )
    return len(turns)


def load_turns_for(store: Store, session_ids: Sequence[str]) -> dict[str, list[TurnRecord]]:
    """The turns of many sessions, each list ordered by day and index; every id gets a list."""
    out: dict[str, list[TurnRecord]] = {sid: [] for sid in session_ids}
    if not session_ids:
        return out
    ids = list(out)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows = store.fetchall(
            f"SELECT {store.turn_select} FROM turns WHERE session_id IN ({', '.join('?' for _ in chunk)}) "
            "ORDER BY session_id, day, idx",
            chunk,
        )
        for row in rows:
            turn = TurnRecord(**dict(zip(_TURN_COLS, row, strict=True)))
            out[turn.session_id].append(turn)
    return out
