"""The TUI navigates by name: the screens each app registers (``SCREENS``) and its modes (the game,
the evaluator). Every registered name opens its screen; the buttons, F6 and escape go to the named
screens; a named dialog shows the current state each time it opens; what the game shows while the
player looks at the evaluator waits in the game's mode. Driven through Textual's pilot, on real
DuckDB files, without a language model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_report import seed_run
from textual.screen import Screen
from textual.widgets import Button, DataTable, Input, OptionList, Static
from tui_helpers import continue_demo, wait_for

from sharehouse.engine.session import start_session
from sharehouse.llm import ChatModel
from sharehouse.scenario import Scenario
from sharehouse.store import Position, Store
from sharehouse.tui import SharehouseApp
from sharehouse.tui.demo import prefill_demo_session
from sharehouse.tui.evaluator.app import EvaluatorApp
from sharehouse.tui.evaluator.board import EvaluatorScreen
from sharehouse.tui.evaluator.setup import RunsScreen
from sharehouse.tui.i18n import t
from sharehouse.tui.names import CONTINUE, EVALUATOR, GAME, PARTICIPANT, RUNS, SETTINGS, START
from sharehouse.tui.screens import (
    ClosingScreen,
    ContinueScreen,
    DaySummaryScreen,
    QuitScreen,
    SettingsScreen,
    StartScreen,
)

SIZE = (120, 40)
GAME_SCREENS: dict[str, type[Screen[Any]]] = {
    START: StartScreen,
    CONTINUE: ContinueScreen,
    SETTINGS: SettingsScreen,
    RUNS: RunsScreen,
}
FIRST_OF_MODE = {START: GAME, RUNS: EVALUATOR}  # a mode's first screen is shown by switching to it


def no_model(spec: str) -> ChatModel:
    raise AssertionError(f"navigating needs no model (asked for {spec})")


async def test_every_registered_name_opens_its_screen(store: Store, scenario: Scenario) -> None:
    app = SharehouseApp(store, scenario, model_factory=no_model)
    assert set(app.SCREENS) == set(GAME_SCREENS) | {PARTICIPANT}  # participant mode's: test_tui_participant
    async with app.run_test(size=SIZE) as pilot:
        assert app.current_mode == GAME and app.screen is app.get_screen(START)
        for name, kind in GAME_SCREENS.items():
            if name in FIRST_OF_MODE:
                await app.switch_mode(FIRST_OF_MODE[name])
            else:
                await app.push_screen(name)
            await pilot.pause()
            screen = app.get_screen(name)
            assert isinstance(screen, kind) and app.screen is screen, name
            if name != START:
                await pilot.press("escape")  # every one of them goes back with escape
                await wait_for(
                    pilot, lambda: app.current_mode == GAME and isinstance(app.screen, StartScreen)
                )
            assert app.get_screen_stack(GAME) == [app.get_screen(START)]


async def test_the_start_screen_and_f6_go_to_the_named_screens(store: Store, scenario: Scenario) -> None:
    app = SharehouseApp(store, scenario, model_factory=no_model)
    async with app.run_test(size=SIZE) as pilot:
        start = app.get_screen(START)
        for button, name in (("#continue", CONTINUE), ("#settings", SETTINGS)):
            await pilot.click(button)
            await wait_for(pilot, lambda: app.screen is app.get_screen(name))  # noqa: B023
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is start)

        await pilot.press("f6")
        await wait_for(pilot, lambda: app.in_evaluator)
        assert app.current_mode == EVALUATOR and app.screen is app.get_screen(RUNS)
        assert app.get_screen_stack(GAME) == [start]  # the game's mode is kept as it was
        await pilot.press("f6")  # already there
        await pilot.pause()
        assert app.get_screen_stack(EVALUATOR) == [app.get_screen(RUNS)]
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.in_evaluator)
        assert app.current_mode == GAME and app.screen is start and app.is_running
        await pilot.press("f6")  # the evaluator opens again, afresh
        await wait_for(pilot, lambda: app.in_evaluator)
        assert app.get_screen_stack(EVALUATOR) == [app.get_screen(RUNS)]


async def test_a_named_dialog_shows_the_current_state_each_time_it_opens(
    store: Store, scenario: Scenario
) -> None:
    app = SharehouseApp(store, scenario, model_factory=no_model)
    async with app.run_test(size=SIZE) as pilot:
        settings = app.get_screen(SETTINGS)
        await pilot.click("#settings")
        await wait_for(pilot, lambda: app.screen is settings)
        spec = settings.query_one("#model-spec", Input)
        assert spec.value == app.model_spec and settings.focused is spec
        spec.value = "typed, then cancelled"
        await pilot.press("ctrl+q")  # a dialog over it, or the evaluator, leaves it as it was
        await wait_for(pilot, lambda: isinstance(app.screen, QuitScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is settings)
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is settings)
        assert settings.query_one("#model-spec", Input).value == "typed, then cancelled"
        await pilot.press("escape")  # cancel
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))

        await pilot.click("#lang-ja")
        await wait_for(pilot, lambda: app.lang == "ja")
        await pilot.click("#settings")
        await wait_for(pilot, lambda: app.screen is settings)  # the same screen, built again
        spec = settings.query_one("#model-spec", Input)
        assert spec.value == app.model_spec and settings.focused is spec
        assert t("settings.title", "ja") in str(settings.query_one(".dialog-title", Static).render())
        assert settings.query_one("#save", Button).label.plain == t("settings.save", "ja")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))

        continue_ = app.get_screen(CONTINUE)
        await pilot.click("#continue")
        await wait_for(pilot, lambda: app.screen is continue_)
        assert continue_.query("#no-saved-games")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))
        saved = prefill_demo_session(store, scenario, "en", user_id="ana")
        await pilot.click("#continue")
        await wait_for(pilot, lambda: app.screen is continue_ and bool(continue_.query("#saved-games")))
        options = continue_.query_one("#saved-games", OptionList)
        assert options.get_option_at_index(0).id == saved.id and options.highlighted == 0
        assert continue_.focused is options
        assert continue_.query_one("#back", Button).label.plain == t("continue.back", "ja")


async def test_the_day_summary_waits_in_the_games_mode(store: Store, scenario: Scenario) -> None:
    rec = prefill_demo_session(store, scenario, "zh", answered=2, session_id="s-zh")
    app = SharehouseApp(store, scenario, model_factory=no_model)
    async with app.run_test(size=SIZE) as pilot:
        game = await continue_demo(pilot, rec.id)
        assert app.get_screen_stack(GAME) == [app.get_screen(START), game]
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
        assert game.submit_reply("在海边开一家小面包店。")  # the last reply of day 1
        await wait_for(pilot, lambda: isinstance(app.get_screen_stack(GAME)[-1], DaySummaryScreen))
        assert isinstance(app.screen, RunsScreen) and app.get_screen_stack(EVALUATOR) == [app.screen]
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DaySummaryScreen))
        await pilot.click("#next-day")
        await wait_for(pilot, lambda: app.screen is game and game.awaiting)


async def test_the_closing_screen_waits_in_the_games_mode(store: Store, scenario: Scenario) -> None:
    rec = start_session(store, scenario, kind="human", source="play", user_id="finisher", language="en")
    last = scenario.day(5).ordered_states()[-1]
    store.set_position(rec.id, Position(day=5, state=last.id, followups_used=0))
    store.set_pending(rec.id, scenario.npc(last.npc).name.en, last.opener.en)
    app = SharehouseApp(store, scenario, model_factory=no_model)
    async with app.run_test(size=SIZE) as pilot:
        game = await continue_demo(pilot, rec.id)
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
        assert game.submit_reply("Thank you all!")
        await wait_for(pilot, lambda: app.finished_sessions == [rec.id])
        await wait_for(pilot, lambda: isinstance(app.get_screen_stack(GAME)[-1], ClosingScreen))
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ClosingScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: not app.is_running)


async def test_the_stand_alone_evaluator_navigates_by_name(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    run = seed_run(db)
    with Store(db) as store:
        store.upsert_run("eval-other", "evaluate", {"methods": ["A"], "models": ["local:small"]})
        app = EvaluatorApp(store)  # no run: the evaluator's mode starts on the list
        assert set(app.SCREENS) == {RUNS}
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert app.current_mode == EVALUATOR and app.screen is app.get_screen(RUNS)
            await pilot.press("escape")  # out of its first screen: the stand-alone app quits
            await wait_for(pilot, lambda: not app.is_running)

        app = EvaluatorApp(store, run)  # a run: its leaderboard is the first screen
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            board = app.screen
            assert isinstance(board, EvaluatorScreen) and app.get_screen_stack(EVALUATOR) == [board]
            runs = app.get_screen(RUNS)
            await pilot.press("o")  # the list, by name
            await wait_for(pilot, lambda: app.screen is runs)
            table = runs.query_one("#runs-table", DataTable)
            table.move_cursor(row=[r["id"] for r in runs.runs].index("eval-other"))
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, EvaluatorScreen) and app.screen is not board)
            await pilot.press("o")  # the list is under this leaderboard: back to it, not a second one
            await wait_for(pilot, lambda: app.screen is runs)
            assert app.screen_stack == [board, runs]
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is board)
            await pilot.press("escape")
            await wait_for(pilot, lambda: not app.is_running)
