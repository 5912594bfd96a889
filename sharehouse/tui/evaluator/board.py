"""The evaluator's leaderboard screen: a run's per-language leaderboards and, for a run in several
languages, the cross-language leaderboard (the paper's Table 3: Substance, Style and Overall as
means of the within-language z-scores), with terminal plots, and the run's progress while it
executes in a worker.

Keys on the leaderboard: l / L next / previous language (the last view is "all languages"), s sort by the next column, r reverse the
sort (a click on a column header sorts by it), p scatter → heatmap → win/tie/lose, enter open the
selected row's users, o the list of runs, n set up a new run; while a run executes c cancels it
(every stored prediction stays) and u resumes a cancelled or unfinished one. In the drill-down:
n / b next / previous user, h history ↔ day 5, escape back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.progress_bar import ProgressBar
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker, WorkerState

from evaluator.crosslang import SCORE_COLUMNS, cross_language_rows, describe_missing
from evaluator.events import EvalEvent, RunFinished, Scored
from evaluator.leaderboard import LANGUAGE_TITLES, POOL_WORDS, run_leaderboard
from evaluator.methods.base import UserTask
from evaluator.metrics.aggregate import DEFAULT_Z_POOL, METRICS, Z_METRICS
from evaluator.report import DEFAULT_TIE_TOL, win_tie_lose
from evaluator.request import RunRequest
from evaluator.runner import run_evaluation_async
from sharehouse.store import Store, new_id
from sharehouse.tui.evaluator.messages import READ_ONLY_NOTE, Back, NewRun, OpenDrill, ShowRuns
from sharehouse.tui.evaluator.progress import CANCELLED, DONE, FAILED, SCORING, ComboProgress, RunProgress
from sharehouse.tui.widgets.eval_plot import PLOT_KINDS, EvalPlot, WinTieLoseBars

BOARD_COLUMNS: tuple[str, ...] = (
    "method", "model", "users", *METRICS, *Z_METRICS, "substance", "style", "overall", "type",
)  # fmt: skip
_HEAD = {"substance": "Subst", "style": "Style", "overall": "Overall", "type": "Type"}
#: the view after the last language: the cross-language leaderboard
ALL_LANGUAGES = "all"
CROSS_COLUMNS: tuple[str, ...] = ("rank", "method", "model", "languages", *SCORE_COLUMNS, "missing")
_CROSS_HEAD = {"substance": "Substance", "style": "Style", "overall": "Overall"}
_CROSS_SORTABLE: tuple[str, ...] = ("method", "model", *SCORE_COLUMNS)
_PLACE_STYLE = {1: "bold", 2: "underline", 3: "italic"}  # best / second / third, as the paper marks them


def _cross_cells(row: Mapping[str, Any]) -> list[Text | str]:
    cells: list[Text | str] = [_cell(row["rank"], 0), row["method"], row["model"], " ".join(row["languages"])]
    for col in SCORE_COLUMNS:
        cell = _cell(row[col], 2)
        place = row["places"].get(col)
        if isinstance(cell, Text) and place in _PLACE_STYLE:
            cell.stylize(_PLACE_STYLE[place])
        cells.append(cell)
    return [*cells, describe_missing(row)]


_TEXT_COLUMNS = {"method", "model", "type"}


def _cell(value: Any, digits: int) -> Text | str:
    if value is None:
        return Text("–", justify="right")
    if isinstance(value, float):
        return Text(f"{value:.{digits}f}", justify="right")
    if isinstance(value, int):
        return Text(str(value), justify="right")
    return str(value)


def _sort_value(row: Mapping[str, Any], key: str) -> tuple[int, Any]:
    v = row.get(key)
    return (1, "") if v is None else (0, v)


_STATE_STYLE = {DONE: "green", FAILED: "red", CANCELLED: "yellow", SCORING: "cyan", "running": "bold cyan"}
PROGRESS_COLUMNS: tuple[str, ...] = (
    "method",
    "model",
    "progress",
    "turns",
    "new",
    "cached",
    "errors",
    "state",
)


def _progress_cells(c: ComboProgress) -> list[Any]:
    state = Text(c.state, style=_STATE_STYLE.get(c.state, "dim"))
    if c.state == DONE and c.scored is not None:
        state.append(f" · scored {c.scored}", style="dim")
    if c.note and c.state in (FAILED, DONE) and c.errors:
        state.append(f" · {c.note[:60]}", style="red")
    return [
        c.method,
        c.model,
        ProgressBar(total=max(1, c.total), completed=c.done, width=30),
        Text(f"{c.done}/{c.total}", justify="right"),
        Text(str(c.predicted), justify="right"),
        Text(str(c.cached), justify="right"),
        Text(str(c.errors), justify="right", style="red" if c.errors else ""),
        state,
    ]


class EvaluatorScreen(Screen[None]):
    """Leaderboards of run ``run_id``, one language at a time; with ``request`` and ``tasks`` the
    run executes in a worker on this screen (:func:`evaluator.runner.run_evaluation_async`) and
    the progress table and the leaderboard fill in as predictions and scores arrive."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("l", "language(1)", "Language"),
        Binding("L", "language(-1)", "Prev language", show=False),
        Binding("s", "sort_next", "Sort"),
        Binding("r", "reverse", "Reverse"),
        Binding("p", "plot", "Plot"),
        Binding("enter", "drill", "Users", show=False),
        Binding("c", "cancel_run", "Cancel run"),
        Binding("u", "resume_run", "Resume"),
        Binding("o", "runs", "Runs"),
        Binding("n", "new_run", "New run"),
    ]
    DEFAULT_CSS = """
    EvaluatorScreen #eval-title { height: 1; padding: 0 1; text-style: bold; }
    EvaluatorScreen #eval-progress { height: auto; max-height: 9; display: none; }
    EvaluatorScreen.-running #eval-progress, EvaluatorScreen.-job #eval-progress { display: block; }
    EvaluatorScreen #eval-board { height: 1fr; }
    EvaluatorScreen #eval-cross { height: 1fr; display: none; }
    EvaluatorScreen.-cross #eval-board { display: none; }
    EvaluatorScreen.-cross #eval-cross { display: block; }
    EvaluatorScreen #eval-plot { height: 14; }
    EvaluatorScreen #eval-wtl { height: 14; display: none; padding: 0 1; }
    EvaluatorScreen.-wtl #eval-plot { display: none; }
    EvaluatorScreen.-wtl #eval-wtl { display: block; }
    """

    def __init__(
        self,
        store: Store,
        run_id: str | None = None,
        *,
        request: RunRequest | None = None,
        tasks: Sequence[UserTask] | None = None,
    ) -> None:
        super().__init__()
        if request is not None and tasks is None:
            tasks = request.build_tasks(store)[0]
        self.request = request
        self.tasks = list(tasks or [])
        self.run_id: str = run_id or (request.run_id if request else None) or new_id("eval")
        if request is not None:
            request.run_id = self.run_id
        self.store = store
        self.board: list[dict[str, Any]] = []
        self.languages: list[str] = []
        self.language: str | None = None
        self.sort_key = "overall"
        self.sort_desc = True
        self.plot_kind = PLOT_KINDS[0]
        self.tie_tol = DEFAULT_TIE_TOL
        self.progress: RunProgress | None = None
        self.worker: Worker[str] | None = None
        self.status_note = ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(id="eval-title")
            yield DataTable(id="eval-progress", cursor_type="none", show_cursor=False)
            yield DataTable(id="eval-board", cursor_type="row", zebra_stripes=True)
            yield DataTable(id="eval-cross", cursor_type="row", zebra_stripes=True)
            yield EvalPlot(id="eval-plot")
            yield WinTieLoseBars(id="eval-wtl")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#eval-board", DataTable)
        for col in BOARD_COLUMNS:
            table.add_column(
                _HEAD.get(col, col.upper() if col[0] in "mz" and col[1:].isdigit() else col), key=col
            )
        cross = self.query_one("#eval-cross", DataTable)
        for col in CROSS_COLUMNS:
            cross.add_column(_CROSS_HEAD.get(col, col), key=col)
        progress = self.query_one("#eval-progress", DataTable)
        for col in PROGRESS_COLUMNS:
            progress.add_column(col, key=col)
        self.reload_board()
        table.focus()
        if self.request is not None:
            self.start_run()

    # -- the run ----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.state in (WorkerState.PENDING, WorkerState.RUNNING)

    def start_run(self) -> None:
        """Run (or continue) the request in a worker; stored predictions are skipped by the runner."""
        request = self.request
        if request is None or self.running:
            return
        if self.progress is None:
            self.progress = RunProgress(
                self.tasks, request.methods, request.models, seeds=len(request.seed_list)
            )
            rows = self.query_one("#eval-progress", DataTable)
            for c in self.progress.ordered():
                rows.add_row(*_progress_cells(c), key=f"{c.method}\x1f{c.model}")
        self.progress.started()
        self.add_class("-job", "-running")
        self.status_note = "starting…"
        self.worker = self.run_worker(
            self._execute(request), group="evaluate", exclusive=True, exit_on_error=False
        )
        self.refresh_progress()
        self.refresh_bindings()

    async def _execute(self, request: RunRequest) -> str:
        options = request.options().model_copy(update={"run_id": self.run_id})
        return await run_evaluation_async(self.store, self.tasks, options, on_event=self.on_run_event)

    def on_run_event(self, event: EvalEvent) -> None:
        """The runner's observer (called on the app's event loop)."""
        if self.progress is None:
            return
        combo = self.progress.apply(event)
        if combo is not None:
            self._update_progress_row(combo)
        if isinstance(event, Scored | RunFinished):
            if isinstance(event, RunFinished):
                for c in self.progress.ordered():
                    self._update_progress_row(c)
            self.reload_board()
        self.refresh_progress()

    def _update_progress_row(self, c: ComboProgress) -> None:
        rows = self.query_one("#eval-progress", DataTable)
        key = f"{c.method}\x1f{c.model}"
        for col, value in zip(PROGRESS_COLUMNS, _progress_cells(c), strict=True):
            rows.update_cell(key, col, value, update_width=True)

    def refresh_progress(self) -> None:
        progress = self.progress
        if progress is None:
            return
        current = progress.current()
        if self.running:
            if current is None:
                what = "scoring"
            else:
                verb = "scoring" if current.state == SCORING else "running"
                what = f"{verb} {current.method} × {current.model}"
            self.status_note = f"{what} · {progress.done}/{progress.total} turns · c: cancel"
        self.refresh_title()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self.worker or self.progress is None:
            return
        state = event.state
        if state in (WorkerState.PENDING, WorkerState.RUNNING):
            return
        self.remove_class("-running")
        if state == WorkerState.SUCCESS:
            info = self.store.get_run(self.run_id) or {}
            self.status_note = f"finished ({info.get('status', 'complete')})"
            self.notify(f"run {self.run_id} finished")
        elif state == WorkerState.CANCELLED:
            self._mark_cancelled()
        elif state == WorkerState.ERROR:
            error = event.worker.error
            message = f"{type(error).__name__}: {error}" if error else "unknown error"
            self.progress.fail(message)
            self.status_note = f"failed: {message} · stored predictions are kept; u: resume"
            self.notify(f"run {self.run_id} failed: {message}", severity="error", timeout=10)
        for c in self.progress.ordered():
            self._update_progress_row(c)
        self.reload_board()
        self.refresh_bindings()

    def _mark_cancelled(self) -> None:
        if self.progress is None:
            return
        self.progress.cancel()
        if not self.store.read_only:
            self.store.set_run_status(self.run_id, "cancelled")
        self.status_note = f"cancelled · {self.progress.done}/{self.progress.total} turns stored · u: resume"

    def action_cancel_run(self) -> None:
        if self.running and self.worker is not None:
            self.worker.cancel()
            self.notify("cancelling: every stored prediction stays; u resumes the run")

    def action_resume_run(self) -> None:
        if self.running:
            return
        if self.store.read_only:
            self.notify(READ_ONLY_NOTE, severity="warning")
            return
        if self.request is None:
            try:
                self.request = RunRequest.from_run(self.store, self.run_id)
                self.tasks, _ = self.request.build_tasks(self.store)
            except ValueError as exc:
                self.request = None
                self.notify(str(exc), severity="error")
                return
        self.start_run()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Cancel only while the run executes; Resume and New run only while it does not (and
        Resume only for a run that is not complete). Hidden keys are not shown in the footer."""
        if action == "cancel_run":
            return self.running
        if action == "resume_run":
            if self.running:
                return False
            info = self.store.get_run(self.run_id)
            return info is not None and info["status"] != "complete"
        if action == "new_run":
            return not self.running
        return True

    def on_unmount(self) -> None:
        if self.running and self.worker is not None:
            self.worker.cancel()
            self._mark_cancelled()

    # -- data -------------------------------------------------------------------------------
    def reload_board(self) -> None:
        """Read the run's leaderboard from the store again (keeps language, sort and plot)."""
        self.board = run_leaderboard(self.store, self.run_id, z_pool=DEFAULT_Z_POOL)
        found = list(dict.fromkeys(r["language"] for r in self.board))
        self.languages = [*found, ALL_LANGUAGES] if len(found) > 1 else found
        if self.language not in self.languages:
            self.language = self.languages[0] if self.languages else None
        self.refresh_view()

    def cross_rows(self) -> list[dict[str, Any]]:
        """The cross-language leaderboard: ranked configurations by Overall, then incomplete ones."""
        rows = cross_language_rows(self.board)
        if self.sort_key in ("method", "model", *SCORE_COLUMNS):
            ranked = [r for r in rows if r["complete"]]
            ranked.sort(key=lambda r: _sort_value(r, self.sort_key), reverse=self.sort_desc)
            rows = ranked + [r for r in rows if not r["complete"]]
        return rows

    def visible_rows(self) -> list[dict[str, Any]]:
        """The current language's rows in the current sort order (the cross-language rows for all)."""
        if self.language == ALL_LANGUAGES:
            return self.cross_rows()
        rows = [r for r in self.board if r["language"] == self.language]
        rows.sort(key=lambda r: _sort_value(r, self.sort_key), reverse=self.sort_desc)
        if self.sort_desc:  # keep missing values last either way
            rows.sort(key=lambda r: r.get(self.sort_key) is None)
        return rows

    def refresh_title(self) -> None:
        title = self.query_one("#eval-title", Static)
        note = f" · {self.status_note}" if self.status_note else ""
        if self.language is None:
            title.update(f"run {self.run_id}: no scored predictions yet{note}")
        else:
            name = (
                "all languages (mean z over the languages, as Table 3)"
                if self.language == ALL_LANGUAGES
                else LANGUAGE_TITLES.get(self.language, self.language)
            )
            order = "↓" if self.sort_desc else "↑"
            title.update(
                f"run {self.run_id} · {name} ({self.languages.index(self.language) + 1}/{len(self.languages)})"
                f" · z over {POOL_WORDS[DEFAULT_Z_POOL]} · sorted by {self.sort_key} {order}{note}"
            )

    def refresh_view(self) -> None:
        rows = self.visible_rows()
        cross = self.language == ALL_LANGUAGES
        self.set_class(cross, "-cross")
        table = self.query_one("#eval-cross" if cross else "#eval-board", DataTable)
        cursor = table.cursor_row
        table.clear()
        for r in rows:
            cells = (
                _cross_cells(r)
                if cross
                else [_cell(r.get(c), 4 if c in METRICS else 2) for c in BOARD_COLUMNS]
            )
            table.add_row(*cells, key=f"{r['method']}\x1f{r['model']}")
        if rows and cursor > 0:
            table.move_cursor(row=min(cursor, len(rows) - 1))
        self.refresh_title()
        self.set_class(self.plot_kind == "wtl", "-wtl")
        if self.plot_kind == "wtl":
            configs = len({(r["model"], r["language"]) for r in self.board})
            self.query_one(WinTieLoseBars).show(
                win_tie_lose(self.board, tie_tol=self.tie_tol), tie_tol=self.tie_tol, configs=configs
            )
        else:
            name = LANGUAGE_TITLES.get(self.language, self.language) if self.language else "no scores yet"
            if cross:  # means over the languages: Substance against Style (no per-metric heatmap)
                self.query_one(EvalPlot).show_rows(rows, "scatter", "all languages")
            else:
                self.query_one(EvalPlot).show_rows(rows, self.plot_kind, name)

    # -- actions ----------------------------------------------------------------------------
    def action_back(self) -> None:
        if self.running:
            self.notify("a run is in progress: c cancels it (stored predictions stay), then escape")
            return
        self.post_message(Back())

    def action_runs(self) -> None:
        self.post_message(ShowRuns())

    def action_new_run(self) -> None:
        if self.store.read_only:
            self.notify(READ_ONLY_NOTE, severity="warning")
            return
        prefill = self.request.model_copy(update={"run_id": None, "sessions": None}) if self.request else None
        self.post_message(NewRun(prefill))

    def action_language(self, step: int) -> None:
        if self.languages and self.language is not None:
            i = self.languages.index(self.language)
            self.language = self.languages[(i + step) % len(self.languages)]
            self.refresh_view()

    def sort_by(self, key: str) -> None:
        """Sort by ``key``; the same key again flips the order. Text columns start ascending."""
        if key not in self.sortable():
            return
        if key == self.sort_key:
            self.sort_desc = not self.sort_desc
        else:
            self.sort_key, self.sort_desc = key, key not in _TEXT_COLUMNS
        self.refresh_view()

    def sortable(self) -> tuple[str, ...]:
        """The columns the current view sorts by."""
        return _CROSS_SORTABLE if self.language == ALL_LANGUAGES else BOARD_COLUMNS

    def action_sort_next(self) -> None:
        columns = self.sortable()
        i = columns.index(self.sort_key) if self.sort_key in columns else -1
        key = columns[(i + 1) % len(columns)]
        self.sort_key, self.sort_desc = key, key not in _TEXT_COLUMNS
        self.refresh_view()

    def action_reverse(self) -> None:
        self.sort_desc = not self.sort_desc
        self.refresh_view()

    def action_plot(self) -> None:
        self.plot_kind = PLOT_KINDS[(PLOT_KINDS.index(self.plot_kind) + 1) % len(PLOT_KINDS)]
        self.refresh_view()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        if event.data_table.id in ("eval-board", "eval-cross"):
            self.sort_by(str(event.column_key.value))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.data_table.id == "eval-board":
            self.open_drill()

    def action_drill(self) -> None:
        self.open_drill()

    def open_drill(self) -> None:
        if self.language is None or self.language == ALL_LANGUAGES:
            return
        table = self.query_one("#eval-board", DataTable)
        method = None
        if table.row_count:
            key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value or ""
            method = key.split("\x1f", 1)[0]
        self.post_message(OpenDrill(self.run_id, self.language, method))
