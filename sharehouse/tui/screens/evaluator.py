"""The evaluator screens: a per-language leaderboard of a stored evaluation run with a terminal plot,
and a drill-down into one user's day-5 turns (real reply beside every method's prediction, with
per-metric scores) and their day 1–4 history.

Keys on the leaderboard: l / L next / previous language, s sort by the next column, r reverse the
sort (a click on a column header sorts by it), p scatter ↔ heatmap, enter open the selected row's
users. In the drill-down: n / b next / previous user, h history ↔ day 5, escape back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from evaluator.leaderboard import LANGUAGE_TITLES, run_leaderboard
from evaluator.metrics.aggregate import METRICS, Z_METRICS
from sharehouse.store import Store
from sharehouse.store.evaluation import PredictionRecord, load_predictions, load_scored_turns
from sharehouse.tui.widgets.eval_plot import PLOT_KINDS, EvalPlot

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


class EvaluatorScreen(Screen[None]):
    """Leaderboards of run ``run_id``, one language at a time."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("l", "language(1)", "Language"),
        Binding("L", "language(-1)", "Prev language", show=False),
        Binding("s", "sort_next", "Sort"),
        Binding("r", "reverse", "Reverse"),
        Binding("p", "plot", "Plot"),
        Binding("enter", "drill", "Users", show=False),
    ]
    DEFAULT_CSS = """
    EvaluatorScreen #eval-title { height: 1; padding: 0 1; text-style: bold; }
    EvaluatorScreen #eval-board { height: 1fr; }
    EvaluatorScreen #eval-plot { height: 14; }
    """

    def __init__(self, store: Store, run_id: str) -> None:
        super().__init__()
        self.store, self.run_id = store, run_id
        self.board: list[dict[str, Any]] = []
        self.languages: list[str] = []
        self.language: str | None = None
        self.sort_key = "overall"
        self.sort_desc = True
        self.plot_kind = PLOT_KINDS[0]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(id="eval-title")
            yield DataTable(id="eval-board", cursor_type="row", zebra_stripes=True)
            yield EvalPlot(id="eval-plot")
        yield Footer()

    def on_mount(self) -> None:
        self.board = run_leaderboard(self.store, self.run_id)
        self.languages = list(dict.fromkeys(r["language"] for r in self.board))
        self.language = self.languages[0] if self.languages else None
        table = self.query_one("#eval-board", DataTable)
        for col in BOARD_COLUMNS:
            table.add_column(
                _HEAD.get(col, col.upper() if col[0] in "mz" and col[1:].isdigit() else col), key=col
            )
        self.refresh_view()
        table.focus()

    # -- data -------------------------------------------------------------------------------
    def visible_rows(self) -> list[dict[str, Any]]:
        """The current language's rows in the current sort order."""
        rows = [r for r in self.board if r["language"] == self.language]
        rows.sort(key=lambda r: _sort_value(r, self.sort_key), reverse=self.sort_desc)
        if self.sort_desc:  # keep missing values last either way
            rows.sort(key=lambda r: r.get(self.sort_key) is None)
        return rows

    def refresh_view(self) -> None:
        rows = self.visible_rows()
        table = self.query_one("#eval-board", DataTable)
        table.clear()
        for r in rows:
            table.add_row(
                *(_cell(r.get(c), 4 if c in METRICS else 2) for c in BOARD_COLUMNS),
                key=f"{r['method']}\x1f{r['model']}",
            )
        title = self.query_one("#eval-title", Static)
        if self.language is None:
            title.update(f"run {self.run_id}: no scored predictions yet")
        else:
            name = LANGUAGE_TITLES.get(self.language, self.language)
            order = "↓" if self.sort_desc else "↑"
            title.update(
                f"run {self.run_id} · {name} ({self.languages.index(self.language) + 1}/{len(self.languages)})"
                f" · sorted by {self.sort_key} {order}"
            )
        self.query_one(EvalPlot).show_rows(
            rows, self.plot_kind, LANGUAGE_TITLES.get(self.language or "", self.language or "")
        )

    # -- actions ----------------------------------------------------------------------------
    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit()

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
        self.sort_by(str(event.column_key.value))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
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
            self.scores[(s["method"], s["model"], s["session_id"], s["day"], s["idx"])] = s
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
    def turn_table(self, preds: list[PredictionRecord]) -> Table:
        first = preds[0]
        table = Table(
            title=f"day {first.day} #{first.idx} · {first.npc or 'housemate'}: {first.message}",
            title_justify="left",
            expand=True,
        )
        table.add_column("who", no_wrap=True)
        table.add_column("reply", ratio=1)
        for m in METRICS:
            table.add_column(m.upper(), justify="right", no_wrap=True)
        table.add_row(Text("real", style="bold green"), first.reference, *("" for _ in METRICS))
        ordered = sorted(preds, key=lambda p: (p.method != self.focus_method, p.method, p.model))
        for p in ordered:
            s = self.scores.get((p.method, p.model, p.session_id, p.day, p.idx), {})
            who = Text(p.method, style="bold" if p.method == self.focus_method else "")
            who.append(f"\n{p.model}", style="dim")
            if p.flags:
                who.append(f"\n{', '.join(p.flags)}", style="yellow")
            table.add_row(who, p.prediction, *(Text(_num(s.get(m))) for m in METRICS))
        return table

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
        body.update(Group(*(self.turn_table(by_turn[k]) for k in sorted(by_turn))))


def _num(value: Any) -> str:
    return "–" if value is None else f"{float(value):.3f}"


class EvaluatorApp(App[None]):
    """A stand-alone app around :class:`EvaluatorScreen` (``sharehouse report view``)."""

    TITLE = "sharehouse evaluator"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, store: Store, run_id: str) -> None:
        super().__init__()
        self.store, self.run_id = store, run_id

    def on_mount(self) -> None:
        self.push_screen(EvaluatorScreen(self.store, self.run_id))
