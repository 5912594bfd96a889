"""A person's first day, played through the game's screens on the real small local model."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Checkbox, Input
from tui_helpers import wait_for

from sharehouse.llm import load_model
from sharehouse.llm.models import installed_models
from sharehouse.scenario import default_scenario_path, load_scenario
from sharehouse.store import Store
from sharehouse.tui import SharehouseApp
from sharehouse.tui.screens import DaySummaryScreen, GameScreen, QuitScreen
from sharehouse.tui.widgets import ChatMessage, ReplyInput

# Clear, on-topic answers (so the day needs few follow-ups); used in order, the last one repeated.
REPLIES = [
    "I would keep it quiet and only tell my family, then maybe throw one small dinner for close friends.",
    "I would sit down and make a proper plan first: pay off debts, save most of it, then budget for fun.",
    "I have always dreamed of opening a little bakery by the sea and baking bread every morning.",
    "Honestly, I would plan carefully, because big money makes me nervous and I want it to last.",
]
MAX_TURNS = 9  # three questions, at most two follow-ups each
TURN_TIMEOUT_S = 900.0  # one housemate line plus one judgement on a shared two-core machine


@pytest.mark.model
@pytest.mark.skipif(not installed_models().get("small"), reason="the small packaged model is not installed")
async def test_play_day_one_on_the_small_local_model(tmp_path: Path) -> None:
    scenario = load_scenario(default_scenario_path())
    store = Store(tmp_path / "play.duckdb")
    built: list[str] = []

    def factory(spec: str):  # type: ignore[no-untyped-def]
        built.append(spec)
        return load_model(spec)

    app = SharehouseApp(store, scenario, model_factory=factory, model_spec="local:small", language="en")
    typed: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        app.screen.query_one("#nickname", Input).value = "pilot-tester"
        app.screen.query_one("#consent-accept", Checkbox).value = True
        await pilot.click("#new-game")
        await wait_for(pilot, lambda: isinstance(app.screen, GameScreen), 20)
        game = app.screen
        assert isinstance(game, GameScreen)

        while not isinstance(app.screen, DaySummaryScreen):
            assert len(typed) < MAX_TURNS, "day 1 did not end"
            await wait_for(
                pilot,
                lambda: game.awaiting or isinstance(app.screen, DaySummaryScreen) or game.error is not None,
                TURN_TIMEOUT_S,
            )
            assert game.error is None, game.error
            if isinstance(app.screen, DaySummaryScreen):
                break
            npc_line = [m for m in game.query(ChatMessage) if not m.has_class("-player")][-1].body
            assert npc_line.strip(), "the housemate's line is shown"
            reply = REPLIES[min(len(typed), len(REPLIES) - 1)]
            box = game.query_one(ReplyInput)
            box.focus()
            box.insert(reply)
            await pilot.press("enter")
            typed.append(reply)
            await wait_for(pilot, lambda: not game.awaiting, 10)

        summary = app.screen
        assert isinstance(summary, DaySummaryScreen)
        assert summary.summary.day == 1 and summary.summary.replies == len(typed)
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen), 10)
        await pilot.click("#quit-yes")
        await wait_for(pilot, lambda: not app.is_running, 30)

    assert built == ["local:small"]
    (rec,) = store.list_sessions(kind="human", source="play")
    turns = store.load_turns(rec.id)
    assert len(turns) >= 3
    assert all(t.day == 1 for t in turns)
    assert [t.response for t in turns] == typed
    assert {t.state_id for t in turns} == {"d1_windfall", "d1_plan", "d1_dream"}
    assert all(t.message.strip() for t in turns)
    assert (rec.position_day, rec.position_state, rec.status) == (2, "d2_missing", "active")
    assert rec.user_id == "pilot-tester" and rec.language == "en"
    store.close()
