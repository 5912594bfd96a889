"""After day five: thanks, and where the conversation is saved."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Static

from sharehouse.scenario import Scenario
from sharehouse.tui.i18n import t
from sharehouse.tui.keys import localise_bindings


class ClosingScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.exit", "key.quit"),
        Binding("enter", "app.exit", show=False),
    ]

    def __init__(self, scenario: Scenario, lang: str, session_id: str, replies: int) -> None:
        super().__init__(id="closing")
        self.scenario = scenario
        self.lang = lang
        self.session_id = session_id
        self.replies = replies

    def compose(self) -> ComposeResult:
        lang = self.lang
        localise_bindings(self, lang)
        yield Header(show_clock=False)
        with Vertical(classes="dialog", id="closing-dialog"):
            yield Static(Text(t("closing.title", lang), style="bold"), classes="dialog-title")
            yield Static(
                Text(
                    t(
                        "closing.text",
                        lang,
                        house=self.scenario.house.name.get(lang),
                        count=self.replies,
                        session=self.session_id,
                    )
                ),
                id="closing-text",
            )
            yield Button(t("closing.quit", lang), id="close-game", variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#close-game", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.app.exit()
