"""Snapshots (pytest-textual-snapshot) of the start screen, the game screen and the day summary in
every language, at 120x40 with the cursor not blinking. The game is a saved demo session
(no model is ever built), so the pictures are stable. Update with ``pytest --snapshot-update``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TextArea
from tui_helpers import SnapshotsDir, continue_demo, wait_for

from sharehouse.llm import ChatModel
from sharehouse.scenario import Scenario, default_scenario_path, load_scenario
from sharehouse.store import Store
from sharehouse.tui import SharehouseApp
from sharehouse.tui.demo import prefill_demo_session
from sharehouse.tui.screens import DaySummaryScreen
from sharehouse.tui.widgets import ReplyInput

SIZE = (120, 40)
LANGS = ["en", "ja", "zh"]


@pytest.fixture
def snapshot(snapshot: Any) -> Any:
    return SnapshotsDir(snapshot)


def no_model(spec: str) -> ChatModel:
    raise AssertionError(f"snapshots never build a model (asked for {spec})")


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(default_scenario_path())


def still_cursor(app: SharehouseApp) -> None:
    for widget in app.screen.query(Input):
        widget.cursor_blink = False
    for area in app.screen.query(TextArea):
        area.cursor_blink = False


@pytest.mark.parametrize("lang", LANGS)
def test_start_screen(snap_compare: Any, tmp_path: Path, scenario: Scenario, lang: str) -> None:
    store = Store(tmp_path / "s.duckdb")
    app = SharehouseApp(store, scenario, model_factory=no_model, language=lang)

    async def before(pilot: Pilot) -> None:
        still_cursor(pilot.app)  # type: ignore[arg-type]

    assert snap_compare(app, terminal_size=SIZE, run_before=before)
    store.close()


@pytest.mark.parametrize("lang", LANGS)
def test_game_screen(snap_compare: Any, tmp_path: Path, scenario: Scenario, lang: str) -> None:
    store = Store(tmp_path / "s.duckdb")
    rec = prefill_demo_session(store, scenario, lang, answered=1)
    app = SharehouseApp(store, scenario, model_factory=no_model, researcher=True)

    async def before(pilot: Pilot) -> None:
        await continue_demo(pilot, rec.id)
        still_cursor(pilot.app)  # type: ignore[arg-type]

    assert snap_compare(app, terminal_size=SIZE, run_before=before)
    store.close()


@pytest.mark.parametrize("lang", LANGS)
def test_day_summary(snap_compare: Any, tmp_path: Path, scenario: Scenario, lang: str) -> None:
    store = Store(tmp_path / "s.duckdb")
    rec = prefill_demo_session(store, scenario, lang, answered=2)
    app = SharehouseApp(store, scenario, model_factory=no_model)
    reply = {"en": "A bakery by the sea.", "ja": "海辺のパン屋さん。", "zh": "海边的面包店。"}[lang]

    async def before(pilot: Pilot) -> None:
        game = await continue_demo(pilot, rec.id)
        game.query_one(ReplyInput).insert(reply)
        await pilot.press("enter")  # the judge cannot load: the reply is accepted and the day ends
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, DaySummaryScreen))
        still_cursor(pilot.app)  # type: ignore[arg-type]

    assert snap_compare(app, terminal_size=SIZE, run_before=before)
    store.close()
