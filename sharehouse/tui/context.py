"""What the screens may read from the app that hosts them, as protocols: a screen depends on this
contract, never on the app class (which imports the screens). What a screen wants done it posts as a
message (:mod:`sharehouse.tui.messages`, :mod:`sharehouse.tui.evaluator.messages`)."""

from __future__ import annotations

from typing import Any, Protocol, cast

from textual.screen import Screen

from sharehouse.llm import ChatModel
from sharehouse.scenario import Scenario
from sharehouse.store import Store


class GameContext(Protocol):
    store: Store
    scenario: Scenario
    lang: str  # the interface language
    researcher: bool  # show the researcher's panel (MBTI dimension, check reasons)
    model_spec: str
    api_base: str | None

    def build_model(self) -> ChatModel:
        """The housemates' model for the current settings (runs off the event loop)."""
        ...

    def set_language(self, lang: str) -> None: ...


def game_context(screen: Screen[Any]) -> GameContext:
    """The context of the app ``screen`` is shown in."""
    return cast(GameContext, screen.app)


class EvaluatorContext(Protocol):
    store: Store  # the database the evaluator's screens read (and a run writes)


def evaluator_context(screen: Screen[Any]) -> EvaluatorContext:
    """The context of the app ``screen`` is shown in (the game, or the stand-alone evaluator)."""
    return cast(EvaluatorContext, screen.app)
