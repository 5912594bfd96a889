"""The evaluator screen on a seeded run: sorting, languages, plot kinds, drill-down and history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from test_report import seed_run
from textual.widgets import DataTable, Static

from sharehouse.store import Store
from sharehouse.tui.screens.evaluator import DrillScreen, EvaluatorApp, EvaluatorScreen
from sharehouse.tui.widgets.eval_plot import EvalPlot


def _text(widget: Static) -> str:
    console = Console(width=200, record=True)
    console.print(widget.content)
    return console.export_text()


def _methods(table: DataTable) -> list[str]:
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[Store, str]:
    db = tmp_path / "e.duckdb"
    run = seed_run(db)
    store = Store(db)
    yield store, run
    store.close()


async def test_leaderboard_navigation_and_drill(seeded: tuple[Store, str]) -> None:
    store, run = seeded
    app = EvaluatorApp(store, run)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, EvaluatorScreen)
        table = screen.query_one("#eval-board", DataTable)
        assert screen.language == "en" and _methods(table) == ["A", "B"]  # Overall, best first

        await pilot.press("r")
        assert _methods(table) == ["B", "A"]
        screen.sort_by("z1")
        assert screen.sort_key == "z1" and _methods(table) == ["A", "B"]
        await pilot.press("s")  # next column after z1
        assert screen.sort_key == "z2"

        await pilot.click("#eval-board", offset=(2, 0))  # the "method" header: text columns sort A→Z
        await pilot.pause()
        assert screen.sort_key == "method" and _methods(table) == ["A", "B"]

        await pilot.press("p")
        assert screen.query_one(EvalPlot).kind == "heatmap"
        await pilot.press("l")
        assert screen.language == "ja" and table.row_count == 2
        await pilot.press("l")
        assert screen.language == "en"

        table.move_cursor(row=1)  # B
        await pilot.press("enter")
        await pilot.pause()
        drill = app.screen
        assert isinstance(drill, DrillScreen) and drill.focus_method == "B" and drill.users == ["u1", "u2"]
        body = drill.query_one("#drill-body", Static)
        text = _text(body)
        assert "real u1 0" in text and "real u1 1" in text and "A guess 1" in text and "B guess 0" in text
        assert "0.600" in text  # B/u1's M1

        await pilot.press("n")
        assert drill.user == "u2"
        text = _text(body)
        assert "real u2 0" in text and "refusal" in text
        await pilot.press("h")
        text = _text(body)
        assert "tea for u2" in text and "B guess" not in text
        await pilot.press("h", "b")
        assert drill.user == "u1" and "real u1 0" in _text(body)

        await pilot.press("escape")
        assert isinstance(app.screen, EvaluatorScreen)
        await pilot.press("escape")
    assert app.return_code == 0


async def test_empty_run(tmp_path: Path) -> None:
    with Store(tmp_path / "x.duckdb") as store:
        store.upsert_run("eval-empty", "evaluate", {})
        app = EvaluatorApp(store, "eval-empty")
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, EvaluatorScreen)
            assert "no scored predictions" in _text(screen.query_one("#eval-title", Static))
            await pilot.press("enter", "l", "s", "p")
            assert isinstance(app.screen, EvaluatorScreen)


def test_leaderboard_snapshot(snap_compare: Any, seeded: tuple[Store, str]) -> None:
    store, run = seeded
    assert snap_compare(EvaluatorApp(store, run), terminal_size=(120, 40))
