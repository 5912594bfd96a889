"""The floor plan of the house, drawn with box characters from the scenario's room rectangles."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from sharehouse.scenario import Scenario
from sharehouse.tui.text import wrap_cells

# Directions a wall cell connects to -> box character.
_GLYPHS: dict[frozenset[str], str] = {
    frozenset("EW"): "─",
    frozenset("NS"): "│",
    frozenset("ES"): "┌",
    frozenset("SW"): "┐",
    frozenset("NE"): "└",
    frozenset("NW"): "┘",
    frozenset("NES"): "├",
    frozenset("NSW"): "┤",
    frozenset("ESW"): "┬",
    frozenset("NEW"): "┴",
    frozenset("NESW"): "┼",
    frozenset("E"): "─",
    frozenset("W"): "─",
    frozenset("N"): "│",
    frozenset("S"): "│",
}

PLAYER_MARK = "@"
SPEAKER_MARK = "▶"


@dataclass
class Canvas:
    """A grid of terminal cells; a wide character fills its cell and blanks the next one."""

    width: int
    height: int
    chars: list[list[str]] = field(init=False)
    styles: list[list[Style | None]] = field(init=False)

    def __post_init__(self) -> None:
        self.chars = [[" "] * self.width for _ in range(self.height)]
        self.styles = [[None] * self.width for _ in range(self.height)]

    def put(self, row: int, col: int, text: str, style: Style | None = None) -> int:
        """Write ``text`` from (row, col); returns the column after it. Clipped at the edge."""
        if not 0 <= row < self.height:
            return col
        for ch in text:
            w = cell_len(ch)
            if col < 0 or col + w > self.width:
                break
            self.chars[row][col] = ch
            self.styles[row][col] = style
            if w == 2:
                self.chars[row][col + 1] = ""
                self.styles[row][col + 1] = style
            col += w
        return col

    def to_text(self) -> Text:
        out = Text(no_wrap=True, overflow="crop")
        for r in range(self.height):
            for c in range(self.width):
                ch = self.chars[r][c]
                if ch:
                    out.append(ch, self.styles[r][c])
            if r < self.height - 1:
                out.append("\n")
        return out


@dataclass(frozen=True)
class MapState:
    """What the map shows besides the rooms: who speaks and where the player stands."""

    speaker: str | None = None  # npc id
    player_room: str | None = None  # room id (None: the scenario's player_room)


def render_house(scenario: Scenario, lang: str, width: int, height: int, state: MapState) -> Text:
    """The house scaled to ``width`` x ``height`` cells: walls, room names, housemates and the player."""
    house = scenario.house
    width = max(width, 3)
    height = max(height, 3)
    canvas = Canvas(width, height)

    def col(x: int) -> int:
        return round(x * (width - 1) / house.width)

    def row(y: int) -> int:
        return round(y * (height - 1) / house.height)

    links: dict[tuple[int, int], set[str]] = {}

    def link(r: int, c: int, *dirs: str) -> None:
        links.setdefault((r, c), set()).update(dirs)

    boxes = []
    for room in house.rooms:
        c0, c1 = col(room.x), col(room.x + room.w)
        r0, r1 = row(room.y), row(room.y + room.h)
        boxes.append((room, r0, c0, r1, c1))
        for c in range(c0, c1 + 1):
            for r in (r0, r1):
                link(r, c, *(["E"] if c < c1 else []), *(["W"] if c > c0 else []))
        for r in range(r0, r1 + 1):
            for c in (c0, c1):
                link(r, c, *(["S"] if r < r1 else []), *(["N"] if r > r0 else []))
    wall = Style(color="grey62")
    for (r, c), dirs in links.items():
        canvas.put(r, c, _GLYPHS.get(frozenset(dirs), "+"), wall)

    player_room = state.player_room or house.player_room
    for room, r0, c0, r1, c1 in boxes:
        inner_w = c1 - c0 - 1
        inner_h = r1 - r0 - 1
        if inner_w < 1 or inner_h < 1:
            continue
        here = [npc for npc in scenario.npcs if npc.room == room.id]
        marks = len(here) > 0 or room.id == player_room
        name_rows = max(1, inner_h - (1 if marks else 0))
        name_lines = wrap_cells(room.name.get(lang), inner_w)[:name_rows]
        name_style = Style(bold=True) if room.id == player_room else Style(dim=True)
        for i, line in enumerate(name_lines):
            canvas.put(r0 + 1 + i, c0 + 1 + (inner_w - cell_len(line)) // 2, line, name_style)
        if not marks:
            continue
        pieces: list[tuple[str, Style]] = []
        for npc in here:
            initial = npc.name.get(lang)[:1]
            if npc.id == state.speaker:
                pieces.append((SPEAKER_MARK + initial, Style(color=npc.colour, bold=True, reverse=True)))
            else:
                pieces.append((initial, Style(color=npc.colour, bold=True)))
        if room.id == player_room:
            pieces.append((PLAYER_MARK, Style(color="bright_white", bold=True)))
        total = sum(cell_len(p) for p, _ in pieces) + len(pieces) - 1
        mark_row = r0 + 1 + min(len(name_lines), inner_h - 1)
        if len(name_lines) < inner_h - 1:
            mark_row += 1 if inner_h - len(name_lines) > 2 else 0
        c = c0 + 1 + max(0, (inner_w - total) // 2)
        for piece, style in pieces:
            c = canvas.put(mark_row, c, piece, style) + 1
    return canvas.to_text()


class HouseMap(Widget):
    """The house plan; update :attr:`state` to move the player or highlight a speaker."""

    DEFAULT_CSS = """
    HouseMap { height: 15; }
    """

    state: reactive[MapState] = reactive(MapState, layout=False)

    def __init__(self, scenario: Scenario, lang: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.scenario = scenario
        self.lang = lang

    def render(self) -> Text:
        return render_house(
            self.scenario, self.lang, self.content_size.width, self.content_size.height, self.state
        )
