"""The evaluator screens: a run's per-language leaderboard with terminal plots, the run's progress
while it executes in a worker, and a drill-down into one user's day-5 turns (the real reply and
every method's prediction side by side, with per-metric scores) and their day 1–4 history.

Keys on the leaderboard: l / L next / previous language, s sort by the next column, r reverse the
sort (a click on a column header sorts by it), p scatter → heatmap → win/tie/lose, enter open the
selected row's users, o the list of runs, n set up a new run; while a run executes c cancels it
(every stored prediction stays) and u resumes a cancelled or unfinished one. In the drill-down:
n / b next / previous user, h history ↔ day 5, escape back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Group
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker, WorkerState

from evaluator.leaderboard import LANGUAGE_TITLES, POOL_WORDS, run_leaderboard
from evaluator.methods.base import UserTask
from evaluator.metrics.aggregate import DEFAULT_Z_POOL, METRICS, Z_METRICS
from evaluator.report import DEFAULT_TIE_TOL, win_tie_lose
from evaluator.runner import run_evaluation_async
from sharehouse.store import Store, new_id
from sharehouse.store.evaluation import PredictionRecord, load_predictions, load_scored_turns
from sharehouse.tui.eval_request import (
    CANCELLED,
    DONE,
    FAILED,
    SCORING,
    ComboProgress,
    RunProgress,
    RunRequest,
)
from sharehouse.tui.widgets.eval_plot import PLOT_KINDS, EvalPlot, WinTieLoseBars

BOARD_COLUMNS: tuple[str, ...] = (
    "method", "model", "users", *METRICS, *Z_METRICS, "substance", "style", "overall", "type",
)  # fmt: skip
_HEAD = {"substance": "Subst", "style": "Style", "overall": "Overall", "type": "Type"}
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
            yield EvalPlot(id="eval-plot")
            yield WinTieLoseBars(id="eval-wtl")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#eval-board", DataTable)
        for col in BOARD_COLUMNS:
            table.add_column(
                _HEAD.get(col, col.upper() if col[0] in "mz" and col[1:].isdigit() else col), key=col
            )
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
        several = {"seeds": request.seed_list} if len(request.seed_list) > 1 else {}
        return await run_evaluation_async(
            self.store,
            self.tasks,
            request.methods,
            request.models,
            seed=request.seed,
            **several,
            params=request.params,
            concurrency=request.concurrency,
            progress=False,
            run_id=self.run_id,
            on_event=self.on_run_event,
            selection=request.selection(),
        )

    def on_run_event(self, kind: str, data: dict[str, Any]) -> None:
        """The runner's hook (called on the app's event loop)."""
        if self.progress is None:
            return
        combo = self.progress.apply(kind, data)
        if combo is not None:
            self._update_progress_row(combo)
        if kind in ("scored", "finished"):
            if kind == "finished":
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
            from sharehouse.tui.screens.eval_setup import READ_ONLY_NOTE

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
        self.languages = list(dict.fromkeys(r["language"] for r in self.board))
        if self.language not in self.languages:
            self.language = self.languages[0] if self.languages else None
        self.refresh_view()

    def visible_rows(self) -> list[dict[str, Any]]:
        """The current language's rows in the current sort order."""
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
            name = LANGUAGE_TITLES.get(self.language, self.language)
            order = "↓" if self.sort_desc else "↑"
            title.update(
                f"run {self.run_id} · {name} ({self.languages.index(self.language) + 1}/{len(self.languages)})"
                f" · z over {POOL_WORDS[DEFAULT_Z_POOL]} · sorted by {self.sort_key} {order}{note}"
            )

    def refresh_view(self) -> None:
        rows = self.visible_rows()
        table = self.query_one("#eval-board", DataTable)
        cursor = table.cursor_row
        table.clear()
        for r in rows:
            table.add_row(
                *(_cell(r.get(c), 4 if c in METRICS else 2) for c in BOARD_COLUMNS),
                key=f"{r['method']}\x1f{r['model']}",
            )
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
            self.query_one(EvalPlot).show_rows(rows, self.plot_kind, name)

    # -- actions ----------------------------------------------------------------------------
    def action_back(self) -> None:
        if self.running:
            self.notify("a run is in progress: c cancels it (stored predictions stay), then escape")
            return
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit()

    def action_runs(self) -> None:
        from sharehouse.tui.screens.eval_setup import RunsScreen

        self.app.push_screen(RunsScreen(self.store))

    def action_new_run(self) -> None:
        from sharehouse.tui.screens.eval_setup import READ_ONLY_NOTE, RunSetupScreen

        if self.store.read_only:
            self.notify(READ_ONLY_NOTE, severity="warning")
            return
        prefill = self.request.model_copy(update={"run_id": None, "sessions": None}) if self.request else None
        self.app.push_screen(RunSetupScreen(self.store, prefill))

    def action_language(self, step: int) -> None:
        if self.languages and self.language is not None:
            i = self.languages.index(self.language)
            self.language = self.languages[(i + step) % len(self.languages)]
            self.refresh_view()

    def sort_by(self, key: str) -> None:
        """Sort by ``key``; the same key again flips the order. Text columns start ascending."""
        if key == self.sort_key:
            self.sort_desc = not self.sort_desc
        else:
            self.sort_key, self.sort_desc = key, key not in _TEXT_COLUMNS
        self.refresh_view()

    def action_sort_next(self) -> None:
        i = BOARD_COLUMNS.index(self.sort_key)
        key = BOARD_COLUMNS[(i + 1) % len(BOARD_COLUMNS)]
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
        if event.data_table.id == "eval-board":
            self.sort_by(str(event.column_key.value))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.data_table.id == "eval-board":
            self.open_drill()

    def action_drill(self) -> None:
        self.open_drill()

    def open_drill(self) -> None:
        if self.language is None:
            return
        table = self.query_one("#eval-board", DataTable)
        method = None
        if table.row_count:
            key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value or ""
            method = key.split("\x1f", 1)[0]
        self.app.push_screen(DrillScreen(self.store, self.run_id, self.language, focus_method=method))


class DrillScreen(Screen[None]):
    """One user at a time: day-5 messages, real replies and every method's prediction with scores."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("n", "user(1)", "Next user"),
        Binding("b", "user(-1)", "Prev user"),
        Binding("h", "history", "History"),
    ]
    DEFAULT_CSS = """
    DrillScreen #drill-users { width: 28; }
    DrillScreen #drill-title { height: 1; padding: 0 1; text-style: bold; }
    """

    def __init__(self, store: Store, run_id: str, language: str, *, focus_method: str | None = None) -> None:
        super().__init__()
        self.store, self.run_id, self.language, self.focus_method = store, run_id, language, focus_method
        self.preds: dict[str, list[PredictionRecord]] = {}
        self.scores: dict[tuple[str, str, str, int, int], dict[str, Any]] = {}
        self.users: list[str] = []
        self.user: str | None = None
        self.show_history = False

    def compose(self) -> ComposeResult:
        yield Static(id="drill-title")
        with Horizontal():
            yield DataTable(id="drill-users", cursor_type="row")
            with VerticalScroll(id="drill-scroll"):
                yield Static(id="drill-body")
        yield Footer()

    def on_mount(self) -> None:
        for p in load_predictions(self.store, self.run_id):
            if p.language == self.language:
                self.preds.setdefault(p.user_id, []).append(p)
        for s in load_scored_turns(self.store, self.run_id):
            self.scores[(s["method"], s["model"], s.get("seed", 0), s["session_id"], s["day"], s["idx"])] = s
        self.users = sorted(self.preds)
        table = self.query_one("#drill-users", DataTable)
        table.add_column("user", key="user")
        table.add_column("turns", key="turns")
        for u in self.users:
            turns = len({(p.day, p.idx) for p in self.preds[u]})
            table.add_row(u, Text(str(turns), justify="right"), key=u)
        if self.users:
            self.select_user(self.users[0])
        table.focus()

    def select_user(self, user: str) -> None:
        self.user = user
        table = self.query_one("#drill-users", DataTable)
        row = self.users.index(user)
        if table.cursor_row != row:
            table.move_cursor(row=row)
        self.render_body()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        user = event.row_key.value
        if user is not None and user != self.user:
            self.user = user
            self.render_body()

    def action_user(self, step: int) -> None:
        if self.users and self.user is not None:
            self.select_user(self.users[(self.users.index(self.user) + step) % len(self.users)])

    def action_history(self) -> None:
        self.show_history = not self.show_history
        self.render_body()

    # -- rendering --------------------------------------------------------------------------
    PER_TABLE = 3  # predictions beside the real reply in one table; more continue below

    def turn_tables(self, preds: list[PredictionRecord]) -> list[Table]:
        """One turn: the real reply and each method's prediction side by side (one column each),
        with a row per metric under them; the focused method comes first."""
        first = preds[0]
        ordered = sorted(
            preds, key=lambda p: (p.method != self.focus_method, p.method, p.model, getattr(p, "seed", 0))
        )
        models = {p.model for p in preds}
        seeds = {getattr(p, "seed", 0) for p in preds}
        tables: list[Table] = []
        for start in range(0, len(ordered), self.PER_TABLE):
            chunk = ordered[start : start + self.PER_TABLE]
            title = f"day {first.day} #{first.idx} · {first.npc or 'housemate'}: {first.message}"
            if start:
                title = f"day {first.day} #{first.idx} (continued)"
            table = Table(title=title, title_justify="left", expand=True, show_lines=True)
            table.add_column("", no_wrap=True, style="dim")
            table.add_column(Text("real reply", style="bold green"), ratio=1)
            for p in chunk:
                head = Text(p.method, style="bold" if p.method == self.focus_method else "")
                if len(models) > 1:
                    head.append(f" · {p.model}", style="dim")
                if len(seeds) > 1:
                    head.append(f" · seed {getattr(p, 'seed', 0)}", style="dim")
                table.add_column(head, ratio=1)
            replies: list[Text | str] = [first.reference]
            for p in chunk:
                reply = Text(p.prediction)
                if p.flags:
                    reply.append(f"\n[{', '.join(p.flags)}]", style="yellow")
                replies.append(reply)
            table.add_row("reply", *replies)
            scores = [self.scores.get(_score_key(p), {}) for p in chunk]
            lines = [
                Text("\n".join(_METRIC_NAMES[m] for m in METRICS)),
                Text(""),
                *(Text("\n".join(_num(s.get(m)) for m in METRICS)) for s in scores),
            ]
            table.add_row(*lines)
            tables.append(table)
        return tables

    def render_body(self) -> None:
        body = self.query_one("#drill-body", Static)
        title = self.query_one("#drill-title", Static)
        if self.user is None:
            title.update(f"run {self.run_id} · {self.language}: no predictions")
            body.update("")
            return
        preds = self.preds[self.user]
        session = preds[0].session_id
        if self.show_history:
            title.update(f"{self.user} · session {session} · days 1–4 (h: back to day 5)")
            turns = [t for t in self.store.load_turns(session) if t.day < 5]
            if not turns:
                body.update(Text("no stored history for this session"))
                return
            hist = Table(expand=True)
            hist.add_column("day", justify="right", no_wrap=True)
            hist.add_column("housemate", no_wrap=True)
            hist.add_column("message", ratio=1)
            hist.add_column("reply", ratio=1)
            for t in turns:
                hist.add_row(str(t.day), t.npc, t.message, t.response)
            body.update(hist)
            return
        title.update(f"{self.user} · session {session} · day 5 (h: history, n/b: next/prev user)")
        by_turn: dict[tuple[int, int], list[PredictionRecord]] = {}
        for p in preds:
            by_turn.setdefault((p.day, p.idx), []).append(p)
        body.update(Group(*(t for k in sorted(by_turn) for t in self.turn_tables(by_turn[k]))))


_METRIC_NAMES = {
    "m1": "M1 WMD ↓", "m2": "M2 sentence", "m3": "M3 BLEU", "m4": "M4 length", "m5": "M5 TTR", "m6": "M6 history",
}  # fmt: skip


def _score_key(p: PredictionRecord) -> tuple[Any, ...]:
    return (p.method, p.model, getattr(p, "seed", 0), p.session_id, p.day, p.idx)


def _num(value: Any) -> str:
    return "–" if value is None else f"{float(value):.3f}"


class EvaluatorApp(App[None]):
    """The stand-alone evaluator: ``sharehouse report view`` (one run, or the list of runs) and
    ``sharehouse evaluate --tui`` (``request``: the run executes inside, on the evaluator screen)."""

    TITLE = "sharehouse evaluator"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(
        self,
        store: Store,
        run_id: str | None = None,
        *,
        request: RunRequest | None = None,
        tasks: Sequence[UserTask] | None = None,
    ) -> None:
        super().__init__()
        self.store, self.run_id, self.request, self.tasks = store, run_id, request, tasks

    def on_mount(self) -> None:
        if self.request is not None:
            self.push_screen(EvaluatorScreen(self.store, self.run_id, request=self.request, tasks=self.tasks))
        elif self.run_id is not None:
            self.push_screen(EvaluatorScreen(self.store, self.run_id))
        else:
            from sharehouse.tui.screens.eval_setup import RunsScreen

            self.push_screen(RunsScreen(self.store))
