"""Settings: which model plays the housemates (and its API base for litellm models)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from sharehouse.llm import parse_spec
from sharehouse.tui.context import GameContext, game_context
from sharehouse.tui.i18n import t
from sharehouse.tui.keys import localise_bindings
from sharehouse.tui.screens.named import NamedDialog


@dataclass(frozen=True)
class ModelSettings:
    spec: str
    api_base: str | None


class SettingsScreen(NamedDialog[ModelSettings | None]):
    """Dismisses with the new settings (already validated), or None when cancelled. Registered by
    name (:data:`~sharehouse.tui.names.SETTINGS`); shows the current settings each time it opens."""

    BINDINGS = [Binding("escape", "cancel", "key.back")]

    def __init__(self) -> None:
        super().__init__(id="settings")

    @property
    def game(self) -> GameContext:
        return game_context(self)

    def compose(self) -> ComposeResult:
        lang = self.game.lang
        localise_bindings(self, lang)
        with Vertical(classes="dialog", id="settings-dialog"):
            yield Static(Text(t("settings.title", lang), style="bold"), classes="dialog-title")
            yield Label(t("settings.model", lang), classes="field-label")
            yield Input(self.game.model_spec, id="model-spec")
            yield Static(Text(t("settings.model_help", lang), style="dim"), classes="help-text")
            yield Label(t("settings.api_base", lang), classes="field-label")
            yield Input(self.game.api_base or "", id="api-base", placeholder="http://localhost:4000")
            with Horizontal(classes="dialog-buttons"):
                yield Button(t("settings.save", lang), id="save", variant="primary")
                yield Button(t("settings.cancel", lang), id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.save()
        else:
            self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.save()

    def save(self) -> None:
        spec = self.query_one("#model-spec", Input).value.strip()
        api_base = self.query_one("#api-base", Input).value.strip() or None
        try:
            parse_spec(spec, api_base=api_base)
        except ValueError as exc:
            self.notify(t("settings.invalid", self.game.lang, error=str(exc)), severity="error", markup=False)
            return
        self.dismiss(ModelSettings(spec=spec, api_base=api_base))

    def action_cancel(self) -> None:
        self.dismiss(None)
