"""Integrity checks over a store: orphans, duplicates, gaps in turn order, impossible positions."""

from __future__ import annotations

from sharehouse.store.db import Store


def check_integrity(store: Store) -> list[str]:
    """Every problem found, one sentence each; an empty list means the store is consistent."""
    problems: list[str] = []
    for sid, n in store.fetchall(
        "SELECT t.session_id, count(*) FROM turns t LEFT JOIN sessions s ON s.id = t.session_id "
        "WHERE s.id IS NULL GROUP BY t.session_id"
    ):
        problems.append(f"{n} turn(s) belong to no session ({sid})")
    for sid, day, idx, n in store.fetchall(
        "SELECT session_id, day, idx, count(*) FROM turns GROUP BY session_id, day, idx HAVING count(*) > 1"
    ):
        problems.append(f"session {sid}: day {day} turn {idx} stored {n} times")
    for sid, day, n, lo, hi in store.fetchall(
        "SELECT session_id, day, count(*), min(idx), max(idx) FROM turns GROUP BY session_id, day "
        "HAVING min(idx) <> 0 OR max(idx) <> count(*) - 1"
    ):
        problems.append(f"session {sid}: day {day} turn indexes {lo}..{hi} for {n} turns (gap or offset)")
    for sid, day in store.fetchall(
        "SELECT session_id, day FROM turns WHERE day < 1 OR day > 5 GROUP BY session_id, day"
    ):
        problems.append(f"session {sid}: turns on impossible day {day}")
    for sid, n in store.fetchall(
        "SELECT id, (SELECT count(*) FROM turns t WHERE t.session_id = s.id) FROM sessions s "
        "WHERE status = 'complete' AND source IN ('play', 'simulate') AND position_state IS NOT NULL"
    ):
        problems.append(f"session {sid}: marked complete but still positioned on a question ({n} turns)")
    for sid, pday, tday in store.fetchall(
        "SELECT s.id, s.position_day, max(t.day) FROM sessions s JOIN turns t ON t.session_id = s.id "
        "WHERE s.position_day IS NOT NULL GROUP BY s.id, s.position_day HAVING max(t.day) > s.position_day"
    ):
        problems.append(f"session {sid}: positioned on day {pday} but has turns on day {tday}")
    for (sid,) in store.fetchall(
        "SELECT id FROM sessions WHERE status = 'failed' AND (failure_reason IS NULL OR failure_reason = '')"
    ):
        problems.append(f"session {sid}: failed without a reason")
    return problems
