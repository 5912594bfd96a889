"""Where the game stands: the day, time of day, topic, progress, and (for researchers) the state."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from sharehouse.scenario import Scenario
from sharehouse.tui.i18n import t


@dataclass(frozen=True)
class StatusInfo:
    day: int | None  # None when the session is over
    state_id: str | None
    index: int = 0  # position of the current state in its day (0-based)
    count: int = 0  # states that day


def progress_dots(index: int, count: int) -> str:
    """``●●○`` : questions reached so far in the day (the current one included) out of all."""
    return "●" * (index + 1) + "○" * max(0, count - index - 1) if count else ""


class StatusPanel(Widget):
    DEFAULT_CSS = """
    StatusPanel { height: auto; }
    """

    info: reactive[StatusInfo] = reactive(lambda: StatusInfo(day=1, state_id=None), layout=True)

    def __init__(
        self, scenario: Scenario, lang: str, *, researcher: bool = False, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.scenario = scenario
        self.lang = lang
        self.researcher = researcher

    def render(self) -> Text:
        info = self.info
        lang = self.lang
        out = Text()
        if info.day is None or info.state_id is None:
            out.append(t("status.over", lang), "bold")
            return out
        day = self.scenario.day(info.day)
        state = self.scenario.state(info.state_id)
        out.append(t("status.day", lang, day=info.day, total=len(self.scenario.days)), "bold")
        out.append(f" · {day.time_of_day.get(lang)} · {day.title.get(lang)}")
        out.append("\n")
        out.append(f"{t('status.topic', lang)}: ", "dim")
        out.append(state.topic.get(lang), "bold")
        out.append("   ")
        out.append(f"{t('status.progress', lang)}: ", "dim")
        out.append(progress_dots(info.index, info.count), "bold")
        if self.researcher:
            out.append("\n")
            out.append(f"{t('status.state', lang)}: ", "dim")
            out.append(state.id, "bold magenta")
            out.append("   ")
            out.append(f"{t('status.mbti', lang)}: ", "dim")
            out.append(state.mbti, "bold magenta")
        return out
