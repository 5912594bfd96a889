"""The evaluator screens: leaderboard, plots, drill-down and run list on a seeded run; the run-setup
screen; a real run started from the setup screen on the local model (progress, cancel, resume);
`evaluate --tui`; F6 in the game. Snapshots live in tests/snapshots/test_tui_evaluator/ (the
convention of test_tui_snapshots.py); update with ``pytest --snapshot-update``."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from test_report import seed_run
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Checkbox, DataTable, Input, Select, SelectionList, Static
from tui_helpers import SnapshotsDir, continue_demo
from tui_helpers import wait_for as shared_wait_for
from typer.testing import CliRunner

from evaluator.leaderboard import run_leaderboard
from evaluator.report import DEFAULT_TIE_TOL, win_tie_lose
from evaluator.request import RunRequest
from evaluator.runner import EvalParams
from sharehouse.io import import_yntp
from sharehouse.store import Store
from sharehouse.store.evaluation import list_eval_runs, load_predictions
from sharehouse.tui.evaluator.app import EvaluatorApp
from sharehouse.tui.evaluator.board import EvaluatorScreen
from sharehouse.tui.evaluator.drill import DrillScreen
from sharehouse.tui.evaluator.progress import CANCELLED, DONE, SCORING, RunProgress
from sharehouse.tui.evaluator.setup import RunSetupScreen, RunsScreen
from sharehouse.tui.i18n import CATALOGUE, UI_LANGS, t
from sharehouse.tui.widgets.eval_plot import MISSING_LABEL, MISSING_RGB, EvalPlot, WinTieLoseBars, heat_colour

SIZE = (120, 40)


@pytest.fixture
def snapshot(snapshot: Any) -> Any:
    return SnapshotsDir(snapshot)


def _text(renderable: Any, width: int = 200) -> str:
    console = Console(width=width, record=True)
    console.print(renderable)
    return console.export_text()


def _methods(table: DataTable) -> list[str]:
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


async def wait_for(pilot: Pilot, condition: Callable[[], bool], timeout: float = 120.0) -> None:
    """The shared helper's wait, with room for the evaluator's model work."""
    await shared_wait_for(pilot, condition, timeout)


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[Store, str]:
    db = tmp_path / "e.duckdb"
    run = seed_run(db)
    store = Store(db)
    yield store, run
    store.close()


# -- browsing a seeded run --------------------------------------------------------------------


async def test_leaderboard_navigation_and_drill(seeded: tuple[Store, str]) -> None:
    store, run = seeded
    app = EvaluatorApp(store, run)
    async with app.run_test(size=SIZE) as pilot:
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
        await pilot.press("p")
        assert screen.plot_kind == "wtl" and screen.query_one(WinTieLoseBars).display
        assert not screen.query_one(EvalPlot).display
        await pilot.press("p")
        assert screen.plot_kind == "scatter" and screen.query_one(EvalPlot).display
        await pilot.press("l")
        assert screen.language == "ja" and table.row_count == 2
        await pilot.press("l")  # after the languages: the cross-language leaderboard (Table 3)
        cross = screen.query_one("#eval-cross", DataTable)
        assert screen.language == "all" and cross.display and not table.display
        ranked = [cross.get_row_at(i) for i in range(cross.row_count)]
        assert [str(r[1]) for r in ranked] == [str(r["method"]) for r in screen.cross_rows()]
        assert [str(r[3]) for r in ranked] == ["en ja", "en ja"]  # both configurations cover both
        overall = [float(str(r[6])) for r in ranked if str(r[6]) != "–"]
        assert (
            overall
            and overall == sorted(overall, reverse=True)
            and "Table 3" in _text(screen.query_one("#eval-title", Static).render())
        )
        await pilot.press("enter")  # no drill-down from the cross-language view
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("l")
        assert screen.language == "en" and table.display

        table.move_cursor(row=1)  # B
        await pilot.press("enter")
        await pilot.pause()
        drill = app.screen
        assert isinstance(drill, DrillScreen) and drill.focus_method == "B" and drill.users == ["u1", "u2"]
        body = drill.query_one("#drill-body", Static)
        text = _text(body.content)
        assert "real u1 0" in text and "real u1 1" in text and "A guess 1" in text and "B guess 0" in text
        # side by side: the real reply and both predictions of turn 0 share one line, B (focused) first
        line = next(ln for ln in text.splitlines() if "real u1 0" in ln)
        assert "B guess 0" in line and "A guess 0" in line and line.index("B guess") < line.index("A guess")
        m1 = next(ln for ln in text.splitlines() if "M1 WMD" in ln)
        assert m1.index("0.600") < m1.index("0.200")  # B/u1's M1 under B, A/u1's under A

        await pilot.press("n")
        assert drill.user == "u2"
        text = _text(body.content)
        assert "real u2 0" in text and "refusal" in text
        await pilot.press("h")
        text = _text(body.content)
        assert "tea for u2" in text and "B guess" not in text
        await pilot.press("h", "b")
        assert drill.user == "u1" and "real u1 0" in _text(body.content)

        await pilot.press("escape")
        assert isinstance(app.screen, EvaluatorScreen)
        await pilot.press("escape")
    assert app.return_code == 0


async def test_heatmap_labels_sit_on_their_cells(seeded: tuple[Store, str]) -> None:
    store, run = seeded
    app = EvaluatorApp(store, run)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, EvaluatorScreen)
        await pilot.press("p")
        await pilot.pause()
        rows = screen.visible_rows()  # A then B (Overall, best first)
        lines = screen.query_one(EvalPlot).render().plain.splitlines()
        ticks = next(ln for ln in lines if "Z1" in ln and "Z6" in ln)
        for r in rows:
            label_line = next(ln for ln in lines if ln.lstrip().startswith(f"{r['method']}┤"))
            cells = list(re.finditer(r"[+-]\d+\.\d\d", label_line))
            assert [c.group() for c in cells] == [f"{r[f'z{k}']:+.2f}" for k in range(1, 7)]
            for k, cell in enumerate(cells, start=1):
                centre = (cell.start() + cell.end()) / 2
                assert abs(centre - (ticks.index(f"Z{k}") + 1)) <= 2, (r["method"], k, label_line, ticks)
        # the first row is drawn at the top
        top = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith(f"{rows[0]['method']}┤"))
        bottom = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith(f"{rows[1]['method']}┤"))
        assert top < bottom


class _PlotApp(App[None]):
    def compose(self) -> ComposeResult:
        yield EvalPlot(id="p")


async def test_heatmap_shows_missing_values_distinctly() -> None:
    rows = [
        {"method": "full", "model": "m", "z1": 1.0, "z2": -1.0, "z3": 0.5, "z4": 0.0, "z5": 0.2, "z6": -0.2},
        {"method": "gap", "model": "m", "z1": -1.0, "z2": 1.0, "z3": None, "z4": 0.0, "z5": 0.2, "z6": None},
    ]
    app = _PlotApp()
    async with app.run_test(size=(100, 14)) as pilot:
        plot = app.query_one(EvalPlot)
        plot.show_rows(rows, "heatmap", "T")
        await pilot.pause()
        lines = plot.render().plain.splitlines()
    gap = next(ln for ln in lines if ln.lstrip().startswith("gap┤"))
    full = next(ln for ln in lines if ln.lstrip().startswith("full┤"))
    assert gap.count(MISSING_LABEL) == 2 and MISSING_LABEL not in full
    assert "░" in "".join(lines)  # missing cells are hatched, not a colour of the scale
    assert heat_colour(None, 1.0) == MISSING_RGB
    assert MISSING_RGB not in {heat_colour(v / 10, 1.0) for v in range(-10, 11)}
    assert heat_colour(-1.0, 1.0) != heat_colour(1.0, 1.0)


async def test_win_tie_lose_view_uses_the_report_counts(seeded: tuple[Store, str]) -> None:
    store, run = seeded
    app = EvaluatorApp(store, run)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("p", "p")
        await pilot.pause()
        text = _text(app.screen.query_one(WinTieLoseBars).content)
    expected = win_tie_lose(run_leaderboard(store, run), tie_tol=DEFAULT_TIE_TOL)
    assert f"{DEFAULT_TIE_TOL:g}" in text and "over 2 configurations" in text
    for method in ("A", "B"):
        line = next(ln for ln in text.splitlines() if ln.strip().startswith(method + " "))
        counts = [f"{r['win']}/{r['tie']}/{r['lose']}" for r in expected if r["method"] == method]
        assert re.findall(r"\d+/\d+/\d+", line) == counts  # M1…M6 in order
    a_m1 = next(r for r in expected if r["method"] == "A" and r["metric"] == "m1")
    assert (a_m1["win"], a_m1["lose"]) == (2, 0)  # A's WMD beats B in English and in Japanese


async def test_empty_run(tmp_path: Path) -> None:
    with Store(tmp_path / "x.duckdb") as store:
        store.upsert_run("eval-empty", "evaluate", {})
        app = EvaluatorApp(store, "eval-empty")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, EvaluatorScreen)
            assert "no scored predictions" in _text(screen.query_one("#eval-title", Static).content)
            await pilot.press("enter", "l", "s", "p", "p")
            assert isinstance(app.screen, EvaluatorScreen)
            await pilot.press("u")  # resuming a run without methods says why it cannot
            await pilot.pause()
            assert any("cannot be resumed" in n.message for n in app._notifications)


async def test_run_list_opens_the_chosen_run(seeded: tuple[Store, str]) -> None:
    store, run = seeded
    store.upsert_run("eval-other", "evaluate", {"methods": ["A"], "models": ["local:small"]})
    app = EvaluatorApp(store)  # no run: the list
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        runs = app.screen
        assert isinstance(runs, RunsScreen)
        ids = [r["id"] for r in runs.runs]
        assert set(ids) == {run, "eval-other"} and ids == [r["id"] for r in list_eval_runs(store)]
        table = runs.query_one("#runs-table", DataTable)
        table.move_cursor(row=ids.index(run))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, EvaluatorScreen) and app.screen.run_id == run
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen)


# -- snapshots ----------------------------------------------------------------------------------


def test_leaderboard_snapshot(snap_compare: Any, seeded: tuple[Store, str]) -> None:
    store, run = seeded
    assert snap_compare(EvaluatorApp(store, run), terminal_size=SIZE)


def test_heatmap_snapshot(snap_compare: Any, seeded: tuple[Store, str]) -> None:
    store, run = seeded
    assert snap_compare(EvaluatorApp(store, run), terminal_size=SIZE, press=["p"])


def test_win_tie_lose_snapshot(snap_compare: Any, seeded: tuple[Store, str]) -> None:
    store, run = seeded
    assert snap_compare(EvaluatorApp(store, run), terminal_size=SIZE, press=["p", "p"])


def test_cross_language_snapshot(snap_compare: Any, seeded: tuple[Store, str]) -> None:
    """After the run's languages: Substance, Style and Overall as means over them (Table 3)."""
    store, run = seeded
    assert snap_compare(EvaluatorApp(store, run), terminal_size=SIZE, press=["l", "l"])


def test_drill_down_snapshot(snap_compare: Any, seeded: tuple[Store, str]) -> None:
    store, run = seeded
    assert snap_compare(EvaluatorApp(store, run), terminal_size=SIZE, press=["enter"])


def _still_inputs(app: App[Any]) -> None:
    for widget in app.screen.query(Input):
        widget.cursor_blink = False


def test_run_setup_snapshot(snap_compare: Any, seeded: tuple[Store, str]) -> None:
    store, run = seeded

    async def before(pilot: Pilot) -> None:
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, RunSetupScreen), 10)
        await pilot.pause()
        _still_inputs(pilot.app)

    assert snap_compare(EvaluatorApp(store, run), terminal_size=SIZE, run_before=before)


# -- the run-setup form ---------------------------------------------------------------------------


async def _open_setup(pilot: Pilot) -> RunSetupScreen:
    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, RunSetupScreen), 10)
    screen = pilot.app.screen
    assert isinstance(screen, RunSetupScreen)
    return screen


def _fill(screen: RunSetupScreen, **values: str) -> None:
    for name, value in values.items():
        screen.query_one(f"#setup-{name.replace('_', '-')}", Input).value = value


def _choose_methods(screen: RunSetupScreen, *names: str) -> None:
    methods = screen.query_one("#setup-methods", SelectionList)
    methods.deselect_all()
    for name in names:
        methods.select(name)


async def test_setup_form_reports_bad_input(seeded: tuple[Store, str]) -> None:
    store, run = seeded
    app = EvaluatorApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        setup = await _open_setup(pilot)
        error = setup.query_one("#setup-error", Static)
        sources = [str(v) for _, v in setup.query_one("#setup-source", Select)._options]
        assert sources[0] == "yntp100" and "test" in sources  # the store's own sources are offered

        _choose_methods(setup)
        await pilot.press("ctrl+s")
        assert "Methods" in _text(error.content)

        _choose_methods(setup, "zero-shot")
        _fill(setup, models="local:huge")
        await pilot.press("ctrl+s")
        assert "Models" in _text(error.content) and "unknown local model" in _text(error.content)

        _fill(setup, models="local:small", limit_turns="zero")
        await pilot.press("ctrl+s")
        assert "Turns per user" in _text(error.content)

        _fill(setup, limit_turns="1")
        for code in ("en", "ja", "zh"):
            setup.query_one(f"#setup-lang-{code}", Checkbox).value = False
        await pilot.press("ctrl+s")
        assert "Languages" in _text(error.content)

        setup.query_one("#setup-lang-en", Checkbox).value = True
        await pilot.press("ctrl+s")  # source yntp100: nothing imported in this store
        assert "No users to evaluate" in _text(error.content) and "import" in _text(error.content)
        assert isinstance(app.screen, RunSetupScreen)

        setup.query_one("#setup-source", Select).value = "test"
        _fill(setup, users="u1", seed="3", max_tokens="20")
        req = setup.request()
        assert (req.source, req.languages, req.users, req.limit_turns, req.seed) == (
            "test",
            ["en"],
            ["u1"],
            1,
            3,
        )
        assert req.params.max_tokens == 20 and req.methods == ["zero-shot"] and req.models == ["local:small"]


def test_request_round_trips_through_the_run_config(tmp_path: Path) -> None:
    """The config the runner stores gives back the request that resumes the run."""
    from evaluator.runner import run_evaluation

    with Store(tmp_path / "r.duckdb") as store:
        req = RunRequest(
            source="test", languages=["jp"], users=["u1"], limit_turns=2, methods=["zero-shot"],
            models=["local:small"], seed=5, params=EvalParams(max_tokens=33, extra={"k": 2}),
        )  # fmt: skip
        assert req.languages == ["ja"]
        # no users: the runner records the run and finishes without loading a model
        run_evaluation(store, [], req.options().model_copy(update={"run_id": "eval-x"}))
        back = RunRequest.from_run(store, "eval-x")
        assert back.selection() == req.selection() and back.sessions == [] and back.run_id == "eval-x"
        assert back.params == req.params and back.seed == 5 and back.methods == ["zero-shot"]
        assert back.build_tasks(store) == ([], [])
        tasks, skipped = back.model_copy(update={"sessions": ["s1"]}).build_tasks(store)
        assert tasks == [] and skipped[0].reason == "the session is no longer in the store"
        with pytest.raises(ValueError, match="no evaluation run"):
            RunRequest.from_run(store, "nope")


def test_progress_counts_runner_events() -> None:
    from evaluator.events import ModelLoaded, Predicted, Scored, Skipped, UserFailed
    from evaluator.methods.base import TestItem, UserTask

    def task(user: str, n: int) -> UserTask:
        tests = [TestItem(f"s-{user}", 5, i, "Mika", "m", "r") for i in range(n)]
        return UserTask(user_id=user, language="en", session_id=f"s-{user}", history=[], tests=tests)

    prog = RunProgress([task("u1", 2), task("u2", 3)], ["a", "b"], ["m"])
    assert [(c.method, c.total) for c in prog.ordered()] == [("a", 5), ("b", 5)]
    prog.apply(Skipped(method="a", model="m", seed=0, session_id="s-u1", idx=0))
    prog.apply(Predicted("a", "m", 0, "u1", "s-u1", 1, llm_calls=1, cached_calls=1, latency_s=0.1))
    prog.apply(Predicted("a", "m", 0, "u2", "s-u2", 0, llm_calls=1, cached_calls=0, latency_s=0.1))
    assert prog.apply(ModelLoaded(model="m")) is None
    prog.apply(UserFailed(method="a", model="m", seed=0, user="u2", error="fit: boom"))
    a = prog.combos[("a", "m")]
    assert (a.done, a.predicted, a.cached, a.errors, a.state) == (5, 2, 1, 1, SCORING)
    prog.apply(Scored(method="a", model="m", predictions=3))
    assert a.state == DONE and a.scored == 3 and prog.current() is prog.combos[("b", "m")]
    prog.apply(Predicted("b", "m", 0, "u1", "s-u1", 0, llm_calls=1, cached_calls=0, latency_s=0.1))
    prog.cancel()
    assert prog.combos[("b", "m")].state == CANCELLED and a.state == DONE
    prog.started()
    assert prog.done == 0 and a.state != DONE


# -- a real run inside the TUI ---------------------------------------------------------------------


@pytest.fixture
def yntp_store(tmp_path: Path, yntp_dir: Path) -> Store:
    (tmp_path / "data" / "en").mkdir(parents=True)
    shutil.copy(yntp_dir / "en" / "en_1.json", tmp_path / "data" / "en" / "en_1.json")
    store = Store(tmp_path / "run.duckdb")
    import_yntp(store, tmp_path / "data")
    yield store
    store.close()


@pytest.mark.model
async def test_run_from_setup_progress_cancel_resume(yntp_store: Store, small_model: Any) -> None:
    """Set up zero-shot × local:small on one imported YNTP-100 user and three day-5 turns; cancel once
    the first prediction is stored, resume, and watch the run finish with scores on the leaderboard.

    The cancel takes effect between predictions, so one that was under way when ``c`` was pressed may
    still be stored: the test counts what was stored at the cancel rather than assuming exactly one."""
    store = yntp_store
    app = EvaluatorApp(store)
    total = 3
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        setup = await _open_setup(pilot)
        _choose_methods(setup, "zero-shot")
        _fill(setup, users="en_1", limit_turns=str(total), max_tokens="24", models="local:small")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, EvaluatorScreen))
        screen = app.screen
        assert isinstance(screen, EvaluatorScreen) and screen.running
        run_id = screen.run_id
        assert screen.progress is not None and screen.progress.total == total
        assert store.get_run(run_id)["config"]["selection"]["limit_turns"] == total

        await wait_for(pilot, lambda: screen.progress.done >= 1)
        await pilot.press("c")
        await wait_for(pilot, lambda: not screen.running)
        combo = screen.progress.combos[("zero-shot", "local:small")]
        stored = load_predictions(store, run_id)
        assert 1 <= len(stored) < total, "the cancel did not stop the run before its end"
        assert combo.state == CANCELLED
        assert store.get_run(run_id)["status"] == "cancelled"
        assert "cancelled" in _text(screen.query_one("#eval-title", Static).content)

        cancelled_worker = screen.worker
        await pilot.press("u")
        # A new worker took the run (it may already have finished the remaining turns by now).
        assert screen.worker is not None and screen.worker is not cancelled_worker
        await wait_for(pilot, lambda: not screen.running, timeout=180)
        # what was stored before the cancel was not predicted again
        assert combo.state == DONE and combo.done == total and combo.predicted == total - len(stored)
        after = {(p.idx, p.prediction) for p in load_predictions(store, run_id)}
        assert len(after) == total and {(p.idx, p.prediction) for p in stored} <= after
        assert store.get_run(run_id)["status"] == "complete"
        board = screen.query_one("#eval-board", DataTable)
        assert _methods(board) == ["zero-shot"] and str(board.get_row_at(0)[2]) == "1"  # one user
        progress_text = _text(screen.query_one("#eval-progress", DataTable).get_row_at(0)[-1])
        assert f"scored {total}" in progress_text
        await pilot.press("escape")  # back to the list of runs, where the finished run is listed
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen) and app.screen.runs[0]["id"] == run_id
        assert app.screen.runs[0]["status"] == "complete"
        await pilot.press("escape")
    assert app.return_code == 0


@pytest.mark.model
def test_evaluate_tui_runs_inside_the_app(
    yntp_store: Store, small_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sharehouse evaluate --tui` opens the evaluator with the run executing inside it, with the
    command line's options; the run finishes in the app and is stored."""
    from sharehouse.cli import _build

    db = yntp_store.path
    yntp_store.close()
    seen: dict[str, Any] = {}

    def headless_run(self: EvaluatorApp) -> None:  # the terminal driver → Textual's headless one
        async def drive() -> None:
            async with self.run_test(size=SIZE) as pilot:
                # The run starts by itself, without a key press; it may even finish before the first
                # look, so the test waits for its worker to exist rather than catching it running.
                await wait_for(pilot, lambda: isinstance(self.screen, EvaluatorScreen))
                screen = self.screen
                assert isinstance(screen, EvaluatorScreen)
                await wait_for(pilot, lambda: screen.worker is not None)
                seen["running"] = screen.worker is not None
                seen["request"] = screen.request
                await wait_for(pilot, lambda: not screen.running)
                seen["progress"] = screen.progress

        asyncio.run(drive())

    monkeypatch.setattr(EvaluatorApp, "run", headless_run)
    args = ["evaluate", "--tui", "--db", str(db), "--methods", "zero-shot", "--models", "local:small",
            "--users", "en_1", "--limit-turns", "1", "--max-tokens", "16", "--no-score", "--seed", "4"]  # fmt: skip
    res = CliRunner().invoke(_build(), args)
    assert res.exit_code == 0, res.output
    req = seen["request"]
    assert seen["running"] and req.users == ["en_1"] and req.limit_turns == 1 and req.seed == 4
    assert req.params.max_tokens == 16 and not req.params.score
    assert seen["progress"].combos[("zero-shot", "local:small")].done == 1
    assert f"run id: {req.run_id}" in res.output
    with Store(db, read_only=True) as store:
        assert len(load_predictions(store, req.run_id)) == 1


# -- F6 in the game ---------------------------------------------------------------------------------


async def test_f6_opens_the_run_list_from_the_game(tmp_path: Path, scenario: Any) -> None:
    from sharehouse.tui import SharehouseApp
    from sharehouse.tui.demo import prefill_demo_session
    from sharehouse.tui.widgets import ReplyInput

    def no_model(spec: str) -> Any:
        raise AssertionError("the evaluator list never builds a model")

    db = tmp_path / "g.duckdb"
    with Store(db) as store:
        rec = prefill_demo_session(store, scenario, "ja", answered=1)
        app = SharehouseApp(store, scenario, model_factory=no_model)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            game = await continue_demo(pilot, rec.id)
            assert isinstance(app.focused, ReplyInput)  # the reply box has its own F6: the app's wins
            f6 = app._bindings.key_to_bindings["f6"][0]
            assert f6.description == t("key.evaluator", "ja") and f6.show
            told: list[str] = []
            notify = app.notify

            def record(message: str, *args: Any, **kwargs: Any) -> None:
                # Kept here: a notification expires, and on a loaded machine it can be gone before
                # the screen is checked.
                told.append(message)
                notify(message, *args, **kwargs)

            app.notify = record  # type: ignore[method-assign]
            await pilot.press("f6")
            await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen))
            assert t("eval.no_runs", "ja") in told
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is game

    seed_run(db)
    with Store(db) as store:
        store.upsert_run("eval-second", "evaluate", {"methods": ["A"], "models": ["local:small"]})
        app = SharehouseApp(store, scenario, model_factory=no_model)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            below = app.screen  # what the player saw before F6
            await pilot.press("f6")
            await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen) and len(app.screen.runs) == 2)
            runs = app.screen
            assert isinstance(runs, RunsScreen)
            runs.query_one("#runs-table", DataTable).move_cursor(
                row=[r["id"] for r in runs.runs].index("eval-test")
            )
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, EvaluatorScreen) and app.screen.run_id == "eval-test"
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, RunsScreen)
            await pilot.press("escape")  # out of the evaluator: back to the game, the app keeps running
            await pilot.pause()
            assert app.screen is below and not app.in_evaluator and app.is_running


def test_help_text_names_the_keys_that_work() -> None:
    for lang in UI_LANGS:
        body = CATALOGUE["help.body"][lang]
        f1 = next(ln for ln in body.splitlines() if ln.startswith("F1"))
        assert "?" not in f1  # the reply box takes "?" as text, so it is not offered as a key
        assert any(ln.startswith("F6") for ln in body.splitlines())
        assert t("key.evaluator", lang) and t("eval.no_runs", lang)
