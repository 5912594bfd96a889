"""The reply box: a multi-line text area where Enter sends and Ctrl+J starts a new line."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.message import Message
from textual.widgets import TextArea

NEWLINE_KEYS = ("ctrl+j", "shift+enter", "alt+enter")


class ReplyInput(TextArea):
    """Multi-line input (pastes keep their lines; CJK input works). Enter posts :class:`Submitted`."""

    DEFAULT_CSS = """
    ReplyInput { height: 5; }
    """

    @dataclass
    class Submitted(Message):
        reply_input: ReplyInput
        value: str

        @property
        def control(self) -> ReplyInput:
            return self.reply_input

    def __init__(self, *, placeholder: str = "", id: str | None = None) -> None:
        super().__init__(
            "",
            id=id,
            soft_wrap=True,
            tab_behavior="focus",
            show_line_numbers=False,
            placeholder=placeholder,
            compact=False,
            highlight_cursor_line=False,
        )

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted(self, self.text))
            return
        if event.key in NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            self.insert_newline()
            return
        await super()._on_key(event)

    def insert_newline(self) -> None:
        if self.read_only:
            return
        start, end = self.selection
        self.replace("\n", start, end, maintain_selection_offset=False)
