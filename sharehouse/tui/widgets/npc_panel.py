"""One housemate: name, one-line personality, closeness and the last thing they said."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from sharehouse.scenario import NPC
from sharehouse.tui.closeness import hearts
from sharehouse.tui.i18n import t
from sharehouse.tui.text import one_line


class NpcPanel(Widget):
    """Three lines for one housemate; the speaking one gets the ``-speaking`` class."""

    DEFAULT_CSS = """
    NpcPanel { height: 3; }
    """

    closeness: reactive[int] = reactive(1)
    last_line: reactive[str] = reactive("")
    speaking: reactive[bool] = reactive(False)

    def __init__(self, npc: NPC, lang: str, *, closeness: int = 1, last_line: str = "") -> None:
        super().__init__(id=f"npc-{npc.id}", classes="npc-panel")
        self.npc = npc
        self.lang = lang
        self.set_reactive(NpcPanel.closeness, closeness)
        self.set_reactive(NpcPanel.last_line, last_line)
        self.styles.border_left = ("thick", npc.colour)

    def watch_speaking(self, speaking: bool) -> None:
        self.set_class(speaking, "-speaking")

    def render(self) -> Text:
        width = max(10, self.content_size.width)
        colour = Style(color=self.npc.colour, bold=True)
        name = self.npc.name.get(self.lang)
        heart_label = f"{t('npc.closeness', self.lang)} "
        out = Text(no_wrap=True, overflow="ellipsis")
        out.append(("▶ " if self.speaking else "") + name, colour)
        right = Text(heart_label, style="dim")
        right.append(hearts(self.closeness), Style(color=self.npc.colour))
        gap = width - out.cell_len - right.cell_len
        if gap >= 1:
            out.append(" " * gap)
            out.append_text(right)
        out.append("\n")
        out.append(one_line(self.npc.personality.get(self.lang), width), "italic dim")
        out.append("\n")
        said = self.last_line or t("npc.silent", self.lang)
        out.append(one_line(said, width), "" if self.last_line else "dim")
        return out
