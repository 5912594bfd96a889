"""The conversation: day headings, housemate lines (streamed as they are written), the player's
replies and a typing indicator. Every text is shown literally (no markup), after cleaning."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from sharehouse.tui.i18n import t
from sharehouse.tui.text import clean

#: Longest text shown for one message; the rest is summarised (the store keeps all of it).
MAX_SHOWN_CHARS = 2000
CURSOR = "▍"


def message_text(name: str, colour: str, body: str, lang: str, *, streaming: bool = False) -> Text:
    body = clean(body)
    out = Text()
    out.append(f"{name}\n", Style(color=colour, bold=True))
    shown = body[:MAX_SHOWN_CHARS]
    out.append(shown)
    if len(body) > MAX_SHOWN_CHARS:
        out.append(" " + t("game.truncated", lang, count=len(body) - MAX_SHOWN_CHARS), "dim italic")
    if streaming:
        out.append(CURSOR, "blink")
    return out


class ChatMessage(Static):
    """One line of the conversation (a housemate's or the player's)."""

    DEFAULT_CSS = """
    ChatMessage { height: auto; margin: 0 0 1 0; padding: 0 1; }
    ChatMessage.-player { margin: 0 0 1 6; background: $boost; }
    """

    def __init__(self, name: str, colour: str, body: str, lang: str, *, player: bool = False) -> None:
        super().__init__(message_text(name, colour, body, lang), classes="-player" if player else "-npc")
        self.speaker = name
        self.colour = colour
        self.lang = lang
        self.body = clean(body)

    def set_body(self, body: str, *, streaming: bool = False) -> None:
        self.body = clean(body)
        self.update(message_text(self.speaker, self.colour, body, self.lang, streaming=streaming))


class ChatLog(VerticalScroll):
    """Messages in order; anchored to the newest line until the player scrolls up."""

    DEFAULT_CSS = """
    ChatLog { height: 1fr; }
    ChatLog .day-heading { color: $text-muted; text-style: bold; content-align: center middle; width: 1fr; }
    ChatLog #typing { color: $text-muted; text-style: italic; padding: 0 1; height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.streaming: ChatMessage | None = None
        self._stream_text = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="typing")

    def on_mount(self) -> None:
        self.anchor()

    @property
    def typing(self) -> Static:
        return self.query_one("#typing", Static)

    def _add(self, widget: Static) -> None:
        self.mount(widget, before=self.typing)

    def add_heading(self, text: str) -> None:
        self._add(Static(Text(f"── {clean(text)} ──"), classes="day-heading"))

    def add_message(
        self, name: str, colour: str, body: str, lang: str, *, player: bool = False
    ) -> ChatMessage:
        msg = ChatMessage(name, colour, body, lang, player=player)
        self._add(msg)
        if player:
            self.anchor()  # the player's own reply brings the view back to the newest line
        return msg

    def set_typing(self, text: str | None) -> None:
        self.typing.update(Text(text or ""))
        self.typing.display = bool(text)

    # -- streaming --------------------------------------------------------------------------
    def begin_stream(self, name: str, colour: str, lang: str) -> None:
        self.end_stream()
        self._stream_text = ""
        self.streaming = self.add_message(name, colour, "", lang)
        self.streaming.set_body("", streaming=True)

    def stream(self, piece: str) -> None:
        if self.streaming is None:
            return
        self._stream_text += piece
        self.streaming.set_body(self._stream_text, streaming=True)

    def finish_stream(self, name: str, colour: str, final: str, lang: str) -> ChatMessage:
        """Replace the streamed text by the final (cleaned) line, or add it when nothing streamed."""
        msg = self.streaming
        self.streaming = None
        self._stream_text = ""
        if msg is None:
            return self.add_message(name, colour, final, lang)
        msg.set_body(final)
        return msg

    def end_stream(self) -> None:
        """Drop an unfinished streamed line (generation failed or was abandoned)."""
        if self.streaming is not None:
            self.streaming.remove()
        self.streaming = None
        self._stream_text = ""
