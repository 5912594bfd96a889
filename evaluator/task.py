"""The YNTP task from the session store: per user, days 1–4 are history and each day-5 turn is a test.

For every user the most complete session is used (day 5 present, then status ``complete``, then
the most turns, then the latest). A test item carries the NPC's day-5 message, the user's real
reply (the reference, never shown to a method) and the earlier day-5 turns as ``context``. A
user with no day 5, no day 1–4 history or no non-empty day-5 reply is skipped with a reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from evaluator.methods.base import HistoryTurn, TestItem, UserTask
from sharehouse.lang import canonical, lookup
from sharehouse.store import SessionRecord, Store, TurnRecord

HISTORY_DAYS: tuple[int, ...] = (1, 2, 3, 4)
TEST_DAY = 5


@dataclass(frozen=True)
class SkippedUser:
    user_id: str
    session_id: str | None
    reason: str


@dataclass(frozen=True)
class SourceFilter:
    """Which sessions a ``--source`` value selects."""

    source: str | None = None
    run_id: str | None = None


def parse_source(value: str | None) -> SourceFilter:
    """``yntp100``, ``play``, ``simulate`` or any source string; ``run:ID`` selects one run's sessions."""
    if value is None or not value.strip():
        return SourceFilter()
    value = value.strip()
    if value.startswith("run:"):
        run_id = value[len("run:") :].strip()
        if not run_id:
            raise ValueError("--source run:ID needs a run id")
        return SourceFilter(run_id=run_id)
    return SourceFilter(source=value)


def normalize_languages(languages: Iterable[str] | None) -> list[str] | None:
    """Language codes as stored (``cn``→``zh``, ``jp``→``ja``); None means every language."""
    if languages is None:
        return None
    return [canonical(lang) for lang in languages]


def _natural(text: str) -> tuple[object, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def _completeness(rec: SessionRecord, turns: Sequence[TurnRecord]) -> tuple[object, ...]:
    days = {t.day for t in turns}
    stamp = rec.updated_at.timestamp() if rec.updated_at else 0.0
    return (TEST_DAY in days, rec.status == "complete", len(turns), stamp)


def task_from_turns(rec: SessionRecord, turns: Sequence[TurnRecord]) -> UserTask | SkippedUser:
    """One user's task from one session's turns, or why it cannot be one."""
    ordered = sorted(turns, key=lambda t: (t.day, t.idx))
    history = [
        HistoryTurn(day=t.day, npc=t.npc, message=t.message, response=t.response, mbti=t.mbti)
        for t in ordered
        if t.day in HISTORY_DAYS
    ]
    day5 = [t for t in ordered if t.day == TEST_DAY]
    if not day5:
        return SkippedUser(rec.user_id, rec.id, "no day 5 in the session")
    if not history:
        return SkippedUser(rec.user_id, rec.id, "no day 1-4 history in the session")
    tests: list[TestItem] = []
    seen: list[HistoryTurn] = []
    for t in day5:
        if t.response.strip():
            tests.append(
                TestItem(
                    session_id=rec.id,
                    day=t.day,
                    idx=t.idx,
                    npc=t.npc,
                    message=t.message,
                    reference=t.response,
                    context=tuple(seen),
                )
            )
        seen.append(HistoryTurn(day=t.day, npc=t.npc, message=t.message, response=t.response, mbti=t.mbti))
    if not tests:
        return SkippedUser(rec.user_id, rec.id, "every day-5 reply is empty")
    language = lookup(rec.language) or rec.language
    return UserTask(user_id=rec.user_id, language=language, session_id=rec.id, history=history, tests=tests)


def build_tasks(
    store: Store,
    *,
    source: str | None = None,
    run_id: str | None = None,
    languages: Iterable[str] | None = None,
    users: Iterable[str] | None = None,
    limit_users: int | None = None,
    max_tests: int | None = None,
) -> tuple[list[UserTask], list[SkippedUser]]:
    """The tasks of every matching user, ordered by language then user id, and the users skipped.

    ``source`` accepts the ``--source`` forms (``run:ID`` included); ``limit_users`` keeps the
    first N users of each language; ``max_tests`` keeps the first N day-5 turns of each user.
    """
    filt = parse_source(source)
    run = run_id or filt.run_id
    langs = normalize_languages(languages)
    wanted = {u.strip() for u in users if u.strip()} if users is not None else None
    sessions = store.list_sessions(source=filt.source, run_id=run)
    if langs is not None:
        sessions = [s for s in sessions if (lookup(s.language) or s.language) in langs]
    if wanted is not None:
        sessions = [s for s in sessions if s.user_id in wanted]

    by_user: dict[str, list[tuple[SessionRecord, list[TurnRecord]]]] = {}
    for rec in sessions:
        by_user.setdefault(rec.user_id, []).append((rec, store.load_turns(rec.id)))

    tasks: list[UserTask] = []
    skipped: list[SkippedUser] = []
    for candidates in by_user.values():
        rec, turns = max(candidates, key=lambda c: _completeness(*c))
        got = task_from_turns(rec, turns)
        if isinstance(got, SkippedUser):
            skipped.append(got)
        else:
            if max_tests is not None:
                got.tests = got.tests[: max(0, max_tests)]
            tasks.append(got)
    if wanted is not None:
        for user_id in sorted(wanted - set(by_user), key=_natural):
            skipped.append(SkippedUser(user_id, None, "no matching session in the store"))

    tasks.sort(key=lambda t: (t.language, _natural(t.user_id)))
    skipped.sort(key=lambda s: _natural(s.user_id))
    if limit_users is not None:
        kept: list[UserTask] = []
        per_lang: dict[str, int] = {}
        for t in tasks:
            if per_lang.get(t.language, 0) < limit_users:
                kept.append(t)
                per_lang[t.language] = per_lang.get(t.language, 0) + 1
        tasks = kept
    return tasks, skipped
