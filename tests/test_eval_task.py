"""Building the YNTP task from the store: history/test split, skipped users, source forms (no model)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evaluator.task import build_tasks, parse_source
from sharehouse.io import import_yntp
from sharehouse.store import Position, SessionRecord, Store, TurnRecord


def _session(
    store: Store, sid: str, user: str, days: dict[int, int], *, source: str = "play", run_id: str | None = None,
    status: str = "complete", language: str = "en",
) -> None:  # fmt: skip
    store.create_session(
        SessionRecord(
            id=sid, kind="human", source=source, user_id=user, language=language, run_id=run_id, status=status
        )
    )
    for day, n in days.items():
        for i in range(n):
            store.append_turn(
                TurnRecord(
                    session_id=sid, day=day, idx=i, npc="Donatello", message=f"{sid} d{day} q{i}?",
                    response=f"{sid} d{day} a{i}", mbti="T/F" if i == 0 else None,
                ),
                Position(day=day, state=f"s{i}"),
            )  # fmt: skip


def test_yntp_split(store: Store, yntp_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "data" / "en"
    data.mkdir(parents=True)
    for name in ("en_1.json", "en_2.json"):
        shutil.copy(yntp_dir / "en" / name, data / name)
    import_yntp(store, tmp_path / "data")
    tasks, skipped = build_tasks(store, source="yntp100")
    assert skipped == []
    assert [t.user_id for t in tasks] == ["en_1", "en_2"]
    t = tasks[0]
    assert t.language == "en"
    assert {h.day for h in t.history} == {1, 2, 3, 4}
    assert all(item.day == 5 for item in t.tests)
    assert [item.idx for item in t.tests] == sorted(item.idx for item in t.tests)
    turns = store.load_turns(t.session_id)
    day5 = [x for x in turns if x.day == 5]
    assert [i.reference for i in t.tests] == [x.response for x in day5]
    # each test sees the earlier day-5 turns as context, never its own reply
    for n, item in enumerate(t.tests):
        assert [c.response for c in item.context] == [x.response for x in day5[:n]]
        assert item.reference not in [c.response for c in item.context]
    # filters
    assert [x.user_id for x in build_tasks(store, source="yntp100", users=["en_2"])[0]] == ["en_2"]
    assert build_tasks(store, source="yntp100", languages=["ja"])[0] == []
    limited, _ = build_tasks(store, source="yntp100", limit_users=1, max_tests=2)
    assert [x.user_id for x in limited] == ["en_1"] and len(limited[0].tests) == 2


def test_users_without_day5_or_history_are_skipped(store: Store) -> None:
    _session(store, "s-full", "alice", {1: 2, 2: 1, 3: 1, 4: 1, 5: 3})
    _session(store, "s-noday5", "bob", {1: 2, 2: 2, 3: 1, 4: 1})
    _session(store, "s-nohist", "carol", {5: 2})
    tasks, skipped = build_tasks(store, source="play")
    assert [t.user_id for t in tasks] == ["alice"]
    assert tasks[0].history[0].mbti == "T/F"
    reasons = {s.user_id: s.reason for s in skipped}
    assert set(reasons) == {"bob", "carol"}
    assert "day 5" in reasons["bob"]
    assert "history" in reasons["carol"]
    _, skipped = build_tasks(store, source="play", users=["alice", "nobody"])
    assert [s.user_id for s in skipped] == ["nobody"]


def test_most_complete_session_per_user(store: Store) -> None:
    _session(store, "s-short", "dora", {1: 1, 2: 1, 3: 1, 4: 1}, status="active")
    _session(store, "s-long", "dora", {1: 2, 2: 2, 3: 2, 4: 2, 5: 4})
    _session(store, "s-later-partial", "dora", {1: 3, 2: 1, 3: 1, 4: 1, 5: 1}, status="active")
    tasks, skipped = build_tasks(store, source="play")
    assert skipped == []
    assert [t.session_id for t in tasks] == ["s-long"]
    assert len(tasks[0].tests) == 4


def test_source_forms(store: Store) -> None:
    _session(store, "s-a", "p1", {1: 1, 2: 1, 3: 1, 4: 1, 5: 1}, source="simulate", run_id="run-a")
    _session(store, "s-b", "p2", {1: 1, 2: 1, 3: 1, 4: 1, 5: 1}, source="simulate", run_id="run-b")
    _session(store, "s-c", "p3", {1: 1, 2: 1, 3: 1, 4: 1, 5: 1}, source="import:mine", language="ja")
    assert [t.user_id for t in build_tasks(store, source="simulate")[0]] == ["p1", "p2"]
    assert [t.user_id for t in build_tasks(store, source="run:run-b")[0]] == ["p2"]
    assert [t.user_id for t in build_tasks(store, source="import:mine", languages=["jp"])[0]] == ["p3"]
    assert parse_source("run:xyz").run_id == "xyz"
    with pytest.raises(ValueError):
        parse_source("run:")
    with pytest.raises(ValueError):
        build_tasks(store, languages=["fr"])
