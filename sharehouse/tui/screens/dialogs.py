"""Small modal screens: help and the quit confirmation."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from sharehouse.tui.i18n import t
from sharehouse.tui.keys import localise_bindings


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "close", "key.back"),
        Binding("f1", "close", "key.back", show=False),
        Binding("question_mark", "close", show=False),
    ]

    def __init__(self, lang: str, body: str | None = None) -> None:
        """``body``: the text to show (default: the game's help in ``lang``)."""
        super().__init__(id="help")
        self.lang = lang
        self.body = body if body is not None else t("help.body", lang)

    def compose(self) -> ComposeResult:
        localise_bindings(self, self.lang)
        with Vertical(classes="dialog", id="help-dialog"):
            yield Static(Text(t("help.title", self.lang), style="bold"), classes="dialog-title")
            yield Static(Text(self.body), id="help-body")
            yield Button(t("help.close", self.lang), id="close-help", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


class QuitScreen(ModalScreen[bool]):
    """Dismisses True to quit, False to stay."""

    BINDINGS = [
        Binding("escape", "stay", "key.back"),
        Binding("y", "quit", show=False),
        Binding("n", "stay", show=False),
    ]

    def __init__(self, lang: str, question: str | None = None) -> None:
        """``question``: what to ask (default: the game's question in ``lang``)."""
        super().__init__(id="quit-confirm")
        self.lang = lang
        self.question = question if question is not None else t("quit.question", lang)

    def compose(self) -> ComposeResult:
        localise_bindings(self, self.lang)
        with Vertical(classes="dialog", id="quit-dialog"):
            yield Static(Text(self.question), id="quit-question")
            with Horizontal(classes="dialog-buttons"):
                yield Button(t("quit.yes", self.lang), id="quit-yes", variant="error")
                yield Button(t("quit.no", self.lang), id="quit-no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#quit-no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "quit-yes")

    def action_quit(self) -> None:
        self.dismiss(True)

    def action_stay(self) -> None:
        self.dismiss(False)
