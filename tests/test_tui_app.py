"""The game driven through Textual's pilot, on real DuckDB files, without a language model.

The model factory given to the app raises when called: these flows must not need a model (a
resumed game shows its pending line; a reply is judged by the engine's fallback when the judge
cannot load, and is still committed).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.events import Paste
from textual.widgets import Button, Checkbox, Input, OptionList
from tui_helpers import continue_demo, wait_for

from sharehouse.engine.session import start_session
from sharehouse.llm import ChatModel
from sharehouse.scenario import Scenario, default_scenario_path, load_scenario
from sharehouse.store import Position, Store
from sharehouse.textclean import sanitize_input
from sharehouse.tui import SharehouseApp
from sharehouse.tui.demo import prefill_demo_session
from sharehouse.tui.screens import (
    ClosingScreen,
    ContinueScreen,
    DaySummaryScreen,
    GameScreen,
    HelpScreen,
    QuitScreen,
    SettingsScreen,
    StartScreen,
)
from sharehouse.tui.widgets import ChatLog, ChatMessage, HouseMap, MapState, NpcPanel, ReplyInput, StatusPanel

SIZE = (120, 40)


class ModelCalled(RuntimeError):
    pass


def no_model(spec: str) -> ChatModel:
    raise ModelCalled(f"this test must not build a model (asked for {spec})")


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(default_scenario_path())


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "play.duckdb")
    yield s
    s.close()


def chat_texts(app: SharehouseApp) -> list[str]:
    return [m.body for m in app.screen.query(ChatMessage)]


async def test_new_game_needs_a_nickname_and_consent(store: Store, scenario: Scenario) -> None:
    app = SharehouseApp(store, scenario, model_factory=no_model)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, StartScreen)
        await pilot.click("#new-game")
        await pilot.pause()
        assert isinstance(app.screen, StartScreen)
        assert store.list_sessions() == []

        app.screen.query_one("#nickname", Input).value = "  [bold]Mika\x1b[31m  "
        await pilot.click("#new-game")
        await pilot.pause()
        assert isinstance(app.screen, StartScreen), "no session without consent"
        assert store.list_sessions() == []

        app.screen.query_one("#consent-accept", Checkbox).value = True
        await pilot.click("#lang-zh")
        await wait_for(pilot, lambda: app.lang == "zh")
        assert app.screen.query_one("#nickname", Input).value.strip() == "[bold]Mika\x1b[31m".strip()
        assert app.screen.query_one("#consent-accept", Checkbox).value is True  # kept across the relabel
        assert app.screen.query_one("#new-game", Button).label.plain == "开始新游戏"
        await pilot.click("#new-game")
        await wait_for(pilot, lambda: isinstance(app.screen, GameScreen))
        await pilot.pause()
        rows = store.list_sessions(kind="human", source="play")
        assert len(rows) == 1
        rec = rows[0]
        assert rec.user_id == "[bold]Mika" and rec.language == "zh" and rec.status == "active"
        assert rec.position_day == 1 and rec.position_state == "d1_windfall"
        assert rec.llm_config is not None and rec.llm_config["backend"] == "local"
        # A day opens with the scenario's own line: no model is needed to show it.
        opener = scenario.state("d1_windfall").opener.zh
        await wait_for(pilot, lambda: opener in chat_texts(app))
        assert app.screen.error is None
        # The next line reacts to the reply and needs the model, which cannot load here: the game
        # says so and keeps the session and the reply.
        app.screen.query_one(ReplyInput).insert("开派对！")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.error is not None)
        assert "must not build a model" in app.screen.error
        assert [t.response for t in store.load_turns(rec.id)] == ["开派对！"]


async def test_resume_shows_the_same_pending_line_and_position(store: Store, scenario: Scenario) -> None:
    rec = prefill_demo_session(store, scenario, "en", answered=1)
    pending = rec.pending_message
    assert pending is not None

    async def visit() -> None:
        app = SharehouseApp(store, scenario, model_factory=no_model)
        async with app.run_test(size=SIZE) as pilot:
            game = await continue_demo(pilot, rec.id)
            texts = chat_texts(app)
            assert texts[-1] == pending
            assert texts[:2] == [
                scenario.state("d1_windfall").opener.en,
                store.load_turns(rec.id)[0].response,
            ]
            info = game.query_one(StatusPanel).info
            assert (info.day, info.state_id, info.index, info.count) == (1, "d1_plan", 1, 3)
            shown = str(game.query_one(StatusPanel).render())
            assert "●●○" in shown and "Plan it or go with the flow?" in shown
            assert "d1_plan" not in shown and "J/P" not in shown  # researcher details stay hidden
            assert game.query_one(HouseMap).state == MapState(speaker="kenji", player_room="kitchen")
            assert game.query_one("#npc-kenji", NpcPanel).speaking
            assert game.query_one("#npc-kenji", NpcPanel).last_line == pending
            assert game.query_one("#npc-leo", NpcPanel).closeness == 2
            game.query_one(ReplyInput).insert("half-typed, not sent")
            await pilot.press("ctrl+q")
            await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen))
            await pilot.click("#quit-yes")
            await wait_for(pilot, lambda: not app.is_running)

    for _ in range(2):  # play, quit mid-day, come back: the same state both times
        await visit()
        again = store.get_session(rec.id)
        assert again is not None
        assert again.pending_message == pending
        assert (again.position_day, again.position_state, again.status) == (1, "d1_plan", "active")
        assert len(store.load_turns(rec.id)) == 1


async def test_hostile_reply_is_shown_literally_and_stored_sanitized(
    store: Store, scenario: Scenario
) -> None:
    rec = prefill_demo_session(store, scenario, "en", answered=0)
    hostile = "[bold red]not bold[/bold red] \x1b[31mred\x1b[0m \x1b]0;title\x07 " + "長" * 20_000
    app = SharehouseApp(store, scenario, model_factory=no_model)
    async with app.run_test(size=SIZE) as pilot:
        game = await continue_demo(pilot, rec.id)
        box = game.query_one(ReplyInput)
        box.focus()
        app.post_message(Paste(hostile))  # one event, as a terminal's bracketed paste arrives
        await wait_for(pilot, lambda: len(box.text) > 20_000)
        assert box.text.startswith("[bold red]not bold[/bold red]")
        await pilot.press("enter")
        # The judge cannot load (no model): the engine accepts the substantive reply and commits it.
        await wait_for(pilot, lambda: len(store.load_turns(rec.id)) == 1)
        await wait_for(pilot, lambda: game.error is not None)
        turn = store.load_turns(rec.id)[0]
        assert turn.response == sanitize_input(hostile)
        assert "\x1b" not in turn.response and "\x07" not in turn.response
        assert turn.response.startswith("[bold red]not bold[/bold red] red ")
        assert len(turn.response) <= 20_000
        assert box.text == ""
        mine = [m for m in game.query(ChatMessage) if m.has_class("-player")][-1]
        assert mine.body.startswith("[bold red]not bold[/bold red] red")
        shown = str(mine.render())
        assert "[bold red]not bold" in shown and "more characters" in shown
        svg = app.export_screenshot()  # the screen still renders: the end of the reply, then the error
        assert "characters)" in svg and "cannot&#160;talk" in svg
        assert "\x1b" not in svg
        assert game.query_one(ChatLog).streaming is None


async def test_empty_reply_is_not_sent_and_multiline_paste_is_kept(store: Store, scenario: Scenario) -> None:
    rec = prefill_demo_session(store, scenario, "ja", answered=1, session_id="s-ja")
    app = SharehouseApp(store, scenario, model_factory=no_model)
    async with app.run_test(size=SIZE) as pilot:
        game = await continue_demo(pilot, rec.id)
        assert app.lang == "ja"
        box = game.query_one(ReplyInput)
        box.focus()
        await pilot.press("space", "space", "enter")
        await pilot.pause()
        assert game.user.waiting and len(store.load_turns(rec.id)) == 1
        box.clear()
        await pilot.press("ctrl+j")
        app.post_message(Paste("一行目の答え\n二行目もあります"))
        await pilot.pause()
        assert box.text == "\n一行目の答え\n二行目もあります"
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(store.load_turns(rec.id)) == 2)
        assert store.load_turns(rec.id)[1].response == "一行目の答え\n二行目もあります"


async def test_help_quit_confirmation_and_settings(store: Store, scenario: Scenario) -> None:
    app = SharehouseApp(store, scenario, model_factory=no_model, language="ja")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert "Enter" in str(app.screen.query_one("#help-body").render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))

        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen))
        await pilot.click("#quit-no")
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))
        assert app.is_running

        await pilot.click("#settings")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        app.screen.query_one("#model-spec", Input).value = "local:nonsense"
        await pilot.click("#save")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen) and app.model_spec == "local"
        spec = app.screen.query_one("#model-spec", Input)
        spec.value = "local:small"
        spec.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))
        assert app.model_spec == "local:small"
        assert "local:small" in str(app.screen.query_one("#start-model").render())

        await pilot.click("#continue")
        await wait_for(pilot, lambda: isinstance(app.screen, ContinueScreen))
        assert app.screen.query("#no-saved-games")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))

        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.is_running)


async def test_continue_lists_only_unfinished_games_of_this_scenario(
    store: Store, scenario: Scenario
) -> None:
    active = prefill_demo_session(store, scenario, "en", session_id="s-active", user_id="ana")
    done = prefill_demo_session(store, scenario, "en", session_id="s-done", user_id="bo")
    store.set_status(done.id, "complete")
    other = prefill_demo_session(store, scenario, "en", session_id="s-old-version", user_id="cy")
    store.execute("UPDATE sessions SET scenario_hash = 'an-older-version' WHERE id = ?", [other.id])
    start_session(store, scenario, kind="simulated", source="simulate", user_id="p1", language="en")
    app = SharehouseApp(store, scenario, model_factory=no_model)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#continue")
        await wait_for(pilot, lambda: isinstance(app.screen, ContinueScreen))
        options = app.screen.query_one("#saved-games", OptionList)
        assert [options.get_option_at_index(i).id for i in range(options.option_count)] == [active.id]
        assert "ana" in str(options.get_option_at_index(0).prompt)


async def test_day_end_shows_the_summary(store: Store, scenario: Scenario) -> None:
    rec = prefill_demo_session(store, scenario, "zh", answered=2, session_id="s-zh")
    app = SharehouseApp(store, scenario, model_factory=no_model)
    async with app.run_test(size=SIZE) as pilot:
        game = await continue_demo(pilot, rec.id)
        game.query_one(ReplyInput).insert("在海边开一家小面包店。")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DaySummaryScreen))
        summary = app.screen
        assert summary.summary.day == 1 and summary.summary.replies == 3
        body = str(summary.query_one("#summary-body").render())
        assert scenario.state("d1_dream").topic.zh in body and "3" in body
        saved = store.get_session(rec.id)
        assert saved is not None and (saved.position_day, saved.position_state) == (2, "d2_missing")
        await pilot.click("#next-day")
        # Day 2 starts with the scenario's own line: no model is needed to show it.
        opener = scenario.state("d2_missing").opener.zh
        await wait_for(pilot, lambda: isinstance(app.screen, GameScreen) and opener in chat_texts(app))
        assert game.error is None and game.query_one(StatusPanel).info.day == 2


async def test_retry_after_a_model_failure_goes_on_from_the_store(store: Store, scenario: Scenario) -> None:
    rec = prefill_demo_session(store, scenario, "en", answered=1)
    calls: list[str] = []

    def failing(spec: str) -> ChatModel:
        calls.append(spec)
        raise ModelCalled("the model service is down")

    app = SharehouseApp(store, scenario, model_factory=failing)
    async with app.run_test(size=SIZE) as pilot:
        game = await continue_demo(pilot, rec.id)
        assert calls == []  # showing a saved game needs no model
        game.query_one(ReplyInput).insert("I plan everything, with a spreadsheet.")
        await pilot.press("enter")
        await wait_for(pilot, lambda: game.error is not None)
        assert len(calls) == 2  # the judge (falls back, reply kept) and the next line (fails)
        assert len(store.load_turns(rec.id)) == 2
        assert "the model service is down" in chat_texts(app)[-1]
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(calls) == 3 and game.error is not None)
        assert game.runner is not None and game.runner.fsm.state == "d1_dream"
        assert len(store.load_turns(rec.id)) == 2


async def test_last_reply_of_day_five_leads_to_the_closing_screen(store: Store, scenario: Scenario) -> None:
    rec = start_session(store, scenario, kind="human", source="play", user_id="finisher", language="en")
    last = scenario.day(5).ordered_states()[-1]
    assert last.check.kind == "any"  # judged by rule: no model needed
    store.set_position(rec.id, Position(day=5, state=last.id, followups_used=0))
    store.set_pending(rec.id, scenario.npc(last.npc).name.en, last.opener.en)
    app = SharehouseApp(store, scenario, model_factory=no_model)
    async with app.run_test(size=SIZE) as pilot:
        game = await continue_demo(pilot, rec.id)
        game.query_one(ReplyInput).insert("Thank you all. I will miss this house!")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ClosingScreen))
        text = str(app.screen.query_one("#closing-text").render())
        assert rec.id in text and "Maple House" in text
        assert app.finished_sessions == [rec.id]
        done = store.get_session(rec.id)
        assert done is not None and done.status == "complete" and done.position_state is None
        await pilot.press("enter")
        await wait_for(pilot, lambda: not app.is_running)
