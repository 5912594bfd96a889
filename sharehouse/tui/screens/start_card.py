"""What the two first screens (the game's start screen and participant mode's) share: the
scenario's heading, the language choice, and switching the interface to the chosen language."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Label, RadioButton, RadioSet, Static

from sharehouse.scenario import Scenario
from sharehouse.tui.context import GameContext
from sharehouse.tui.i18n import LANGUAGE_LABELS, UI_LANGS, t


def compose_heading(scenario: Scenario, lang: str) -> ComposeResult:
    """The scenario's title, the game's subtitle and the scenario's introduction."""
    yield Static(Text(scenario.title.get(lang), style="bold"), id="start-title")
    yield Static(Text(t("start.subtitle", lang), style="italic"), id="start-subtitle")
    yield Static(Text(scenario.intro.get(lang)), id="start-intro")


def compose_language_choice(lang: str) -> ComposeResult:
    """A label and the ``#language`` radio set of the interface languages, ``lang`` chosen."""
    yield Label(t("start.language", lang), classes="field-label")
    with RadioSet(id="language"):
        for code in UI_LANGS:
            yield RadioButton(LANGUAGE_LABELS[code], value=code == lang, id=f"lang-{code}")


def chosen_language(event: RadioSet.Changed) -> str:
    """The language of the button pressed in the ``#language`` radio set."""
    return (event.pressed.id or "lang-en").removeprefix("lang-")


async def switch_language(screen: Screen[Any], ctx: GameContext, lang: str) -> None:
    """Sets the interface language to ``lang`` and composes ``screen`` again in it, the language
    choice focused."""
    ctx.set_language(lang)
    await screen.recompose()
    screen.query_one("#language", RadioSet).focus()
