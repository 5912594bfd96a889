"""Making model and player text safe and short enough for the screen.

Everything a model or a person wrote is shown as plain :class:`rich.text.Text` (never parsed as
markup), after terminal escapes and control characters are removed.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text

from sharehouse.textclean import sanitize_input

ELLIPSIS = "…"


def clean(text: str, *, max_chars: int | None = None) -> str:
    """Escapes and control characters removed (newlines kept), optionally capped."""
    cleaned = sanitize_input(text, max_chars=max(len(text), 1))
    return cleaned if max_chars is None else cleaned[:max_chars]


def one_line(text: str, width: int) -> str:
    """``text`` on a single line, cut with an ellipsis to at most ``width`` terminal cells."""
    flat = " ".join(clean(text).split())
    if cell_len(flat) <= width:
        return flat
    if width <= 1:
        return ELLIPSIS[:width]
    out: list[str] = []
    used = 0
    for ch in flat:
        w = cell_len(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out).rstrip() + ELLIPSIS


def plain(text: str, style: str = "") -> Text:
    """A Text that shows ``text`` literally (``[bold]`` stays ``[bold]``)."""
    return Text(clean(text), style=style)


def wrap_cells(text: str, width: int) -> list[str]:
    """Word-wrap to ``width`` cells; words wider than a line (and CJK text) break by character."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if cell_len(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
            current = ""
        for ch in word:
            if cell_len(current + ch) > width:
                lines.append(current)
                current = ""
            current += ch
    if current:
        lines.append(current)
    return lines
