"""A live transcript for ``sharehouse simulate --transcript``: each housemate line as soon as it is
generated, each reply as soon as its turn is committed, so a newcomer watches the dialogue being
played rather than a turn counter."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.rule import Rule

from sharehouse.engine.checks import CheckResult
from sharehouse.engine.session import EngineEvents
from sharehouse.scenario import Scenario, State
from sharehouse.store import TurnRecord
from sharehouse.views import render_line, render_reply


class LiveTranscript(EngineEvents):
    """Prints one session's dialogue as it happens; ``tag`` prefixes every line when several sessions
    play at once (their lines interleave)."""

    def __init__(
        self, console: Console, scenario: Scenario, persona: Any, day: int | None, *, tag: bool
    ) -> None:
        self.console = console
        self.scenario = scenario
        self.persona = persona
        self.prefix = f"[dim]{persona.id}[/dim] " if tag else ""
        self._day = day
        self._announced: int | None = None

    def _announce_day(self) -> None:
        if self._day is not None and self._day != self._announced:
            self._announced = self._day
            title = self.scenario.day(self._day).title.get(self.persona.language)
            label = f"{self.persona.id} · {self.persona.name} · day {self._day}: {title}"
            self.console.print(Rule(label, style="cyan"), highlight=False)

    def npc_message(self, npc_id: str, text: str, state: State, follow_up: bool) -> None:
        self._announce_day()
        name = self.scenario.npc(npc_id).name.get(self.persona.language)
        render_line(self.console, name, text, self.prefix)

    def turn_committed(self, turn: TurnRecord, check: CheckResult) -> None:
        render_reply(self.console, turn, self.prefix)

    def day_finished(self, day: int) -> None:
        self._day = day + 1
