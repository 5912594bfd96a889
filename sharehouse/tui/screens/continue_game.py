"""Pick an unfinished game (a human session of the game with status active) to continue."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from sharehouse.store import SessionRecord
from sharehouse.tui.context import GameContext, game_context
from sharehouse.tui.i18n import LANGUAGE_LABELS, t
from sharehouse.tui.keys import localise_bindings
from sharehouse.tui.screens.named import NamedDialog
from sharehouse.tui.text import one_line

PLAY_SOURCE = "play"


def resumable_sessions(app: GameContext) -> list[SessionRecord]:
    """Unfinished games of this scenario (the same version of it), most recently played first."""
    rows = app.store.list_sessions(kind="human", source=PLAY_SOURCE, status="active")
    digest = app.scenario.content_hash()
    rows = [r for r in rows if r.scenario_id in (None, app.scenario.id) and r.scenario_hash in (None, digest)]
    return sorted(rows, key=lambda r: (r.updated_at or r.created_at or 0, r.id), reverse=True)  # type: ignore[arg-type,return-value]


class ContinueScreen(NamedDialog[str | None]):
    """Dismisses with the chosen session id, or None. Registered by name
    (:data:`~sharehouse.tui.names.CONTINUE`); lists the games again each time it opens."""

    BINDINGS = [Binding("escape", "dismiss_none", "key.back")]

    def __init__(self) -> None:
        super().__init__(id="continue")

    @property
    def game(self) -> GameContext:
        return game_context(self)

    def compose(self) -> ComposeResult:
        lang = self.game.lang
        localise_bindings(self, lang)
        rows = resumable_sessions(self.game)
        counts = self.game.store.turn_counts([r.id for r in rows])
        with Vertical(classes="dialog", id="continue-dialog"):
            yield Static(Text(t("continue.title", lang), style="bold"), classes="dialog-title")
            if rows:
                options = [
                    Option(
                        Text(
                            one_line(
                                t(
                                    "continue.row",
                                    lang,
                                    user=r.user_id,
                                    language=LANGUAGE_LABELS.get(r.language, r.language),
                                    day=r.position_day or "-",
                                    turns=counts.get(r.id, 0),
                                    updated=r.updated_at.strftime("%Y-%m-%d %H:%M") if r.updated_at else "-",
                                ),
                                70,
                            )
                        ),
                        id=r.id,
                    )
                    for r in rows
                ]
                yield OptionList(*options, id="saved-games")
            else:
                yield Static(Text(t("continue.empty", lang), style="italic"), id="no-saved-games")
            yield Button(t("continue.back", lang), id="back")

    def ready(self) -> None:
        for options in self.query(OptionList):
            options.highlighted = 0
            options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
