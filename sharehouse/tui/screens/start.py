"""The start screen: language, nickname, the consent notice, and new game / continue / settings."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Footer, Header, Input, Label, RadioSet, Static

from sharehouse.tui.context import GameContext, game_context
from sharehouse.tui.i18n import t
from sharehouse.tui.keys import localise_bindings
from sharehouse.tui.messages import NewGame, ShowContinue, ShowSettings
from sharehouse.tui.screens.start_card import (
    chosen_language,
    compose_heading,
    compose_language_choice,
    switch_language,
)
from sharehouse.tui.text import clean

MAX_NICKNAME = 60


def clean_nickname(text: str) -> str:
    return " ".join(clean(text).split())[:MAX_NICKNAME]


class StartScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.request_quit", "key.quit", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="start")
        self.nickname = ""
        self.consent = False

    @property
    def game(self) -> GameContext:
        return game_context(self)

    @property
    def lang(self) -> str:
        return self.game.lang

    def compose(self) -> ComposeResult:
        lang = self.lang
        scenario = self.game.scenario
        localise_bindings(self, lang)
        yield Header(show_clock=False)
        with VerticalScroll(id="start-body"):
            with Vertical(id="start-card"):
                yield from compose_heading(scenario, lang)
                yield from compose_language_choice(lang)
                yield Label(t("start.nickname", lang), classes="field-label")
                yield Input(
                    self.nickname,
                    placeholder=t("start.nickname_placeholder", lang),
                    id="nickname",
                    max_length=MAX_NICKNAME,
                )
                with Vertical(id="consent"):
                    yield Static(Text(t("start.consent_title", lang), style="bold"), id="consent-title")
                    yield Static(Text(t("start.consent_text", lang)), id="consent-text")
                    yield Checkbox(t("start.consent_accept", lang), self.consent, id="consent-accept")
                with Horizontal(id="start-buttons"):
                    yield Button(t("start.new_game", lang), id="new-game", variant="primary")
                    yield Button(t("start.continue", lang), id="continue")
                    yield Button(t("start.settings", lang), id="settings")
                    yield Button(t("start.quit", lang), id="quit", variant="error")
                yield Static(
                    Text(t("start.model", lang, spec=self.game.model_spec), style="dim"), id="start-model"
                )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#nickname", Input).focus()

    async def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        code = chosen_language(event)
        if code == self.lang:
            return
        self.nickname = self.query_one("#nickname", Input).value
        self.consent = self.query_one("#consent-accept", Checkbox).value
        await switch_language(self, self.game, code)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "nickname":
            self.nickname = event.value

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.consent = event.value

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "nickname":
            self.query_one("#consent-accept", Checkbox).focus()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id
        if button == "new-game":
            self.new_game()
        elif button == "continue":
            self.post_message(ShowContinue())
        elif button == "settings":
            self.post_message(ShowSettings())
        elif button == "quit":
            await self.run_action("app.request_quit")

    def new_game(self) -> None:
        nickname = clean_nickname(self.query_one("#nickname", Input).value)
        if not nickname:
            self.notify(t("start.need_nickname", self.lang), severity="warning")
            self.query_one("#nickname", Input).focus()
            return
        if not self.query_one("#consent-accept", Checkbox).value:
            self.notify(t("start.need_consent", self.lang), severity="warning")
            self.query_one("#consent-accept", Checkbox).focus()
            return
        self.post_message(NewGame(nickname, self.lang))

    def refresh_model_label(self) -> None:
        self.query_one("#start-model", Static).update(
            Text(t("start.model", self.lang, spec=self.game.model_spec), style="dim")
        )
