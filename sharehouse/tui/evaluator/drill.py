"""The drill-down of an evaluation run: one user at a time, the day-5 messages, the real replies and
every method's prediction side by side with per-metric scores; ``h`` shows the user's day 1–4
history. n / b next / previous user, escape back."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from evaluator.metrics.aggregate import METRICS
from evaluator.metrics.specs import spec
from sharehouse.store import Store
from sharehouse.store.evaluation import PredictionRecord, load_predictions, load_scored_turns


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
                Text("\n".join(spec(m).detail_head for m in METRICS)),
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


def _score_key(p: PredictionRecord) -> tuple[Any, ...]:
    return (p.method, p.model, getattr(p, "seed", 0), p.session_id, p.day, p.idx)


def _num(value: Any) -> str:
    return "–" if value is None else f"{float(value):.3f}"
