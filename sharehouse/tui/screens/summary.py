"""Between days: the day's topics and how many replies the player gave; then the next day."""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Static

from sharehouse.scenario import Scenario
from sharehouse.store import TurnRecord
from sharehouse.tui.i18n import t
from sharehouse.tui.keys import localise_bindings


@dataclass(frozen=True)
class DaySummary:
    day: int
    topics: list[tuple[str, str]]  # (npc id, state id) of each question asked, in order
    replies: int


def summarise_day(scenario: Scenario, turns: list[TurnRecord], day: int) -> DaySummary:
    of_day = [tt for tt in turns if tt.day == day]
    seen: list[str] = []
    for turn in of_day:
        if turn.state_id and turn.state_id not in seen:
            seen.append(turn.state_id)
    if not seen:  # nothing recorded with state ids: the day's questions as planned
        seen = [s.id for s in scenario.day(day).ordered_states()]
    topics = [(scenario.state(sid).npc, sid) for sid in seen]
    return DaySummary(day=day, topics=topics, replies=len(of_day))


class DaySummaryScreen(Screen[None]):
    BINDINGS = [
        Binding("enter", "next", "key.next", show=False),
        Binding("escape", "app.request_quit", "key.quit", show=False),
    ]

    def __init__(self, scenario: Scenario, lang: str, summary: DaySummary) -> None:
        super().__init__(id="day-summary")
        self.scenario = scenario
        self.lang = lang
        self.summary = summary

    def compose(self) -> ComposeResult:
        lang = self.lang
        localise_bindings(self, lang)
        s = self.summary
        day = self.scenario.day(s.day)
        body = Text()
        body.append(f"{t('summary.topics', lang)}\n", "bold underline")
        for npc_id, state_id in s.topics:
            npc = self.scenario.npc(npc_id)
            body.append("  • ")
            body.append(npc.name.get(lang), Style(color=npc.colour, bold=True))
            body.append(f": {self.scenario.state(state_id).topic.get(lang)}\n")
        body.append("\n")
        body.append(t("summary.replies", lang, count=s.replies), "bold")
        yield Header(show_clock=False)
        with Vertical(classes="dialog", id="summary-dialog"):
            yield Static(
                Text(t("summary.title", lang, day=s.day, title=day.title.get(lang)), style="bold"),
                classes="dialog-title",
            )
            yield Static(Text(day.time_of_day.get(lang), style="italic dim"), id="summary-time")
            yield Static(body, id="summary-body")
            if s.day < len(self.scenario.days):
                yield Button(t("summary.next", lang, day=s.day + 1), id="next-day", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        for button in self.query(Button):
            button.focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_next(self) -> None:
        self.dismiss(None)
