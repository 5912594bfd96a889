"""Engine hooks turned into Textual messages for the game screen.

The engine calls these on the event loop, except :meth:`TuiEvents.npc_token`, which the local
model calls from its worker thread; posting a message is thread-safe in Textual. Once the game
screen is closing, the next streamed token raises :class:`GenerationAbandoned`, which stops the
model's generation loop early (nothing is committed mid-turn, so nothing is lost).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message
from textual.message_pump import MessagePump

from sharehouse.engine.checks import CheckResult
from sharehouse.engine.session import EngineEvents
from sharehouse.engine.users import TurnContext
from sharehouse.scenario import State
from sharehouse.store import SessionRecord, TurnRecord


class GenerationAbandoned(Exception):
    """Raised inside the model's token callback to stop a generation nobody will read."""


class EngineMessage(Message):
    """Base of the messages below (so a screen can tell them apart)."""


@dataclass
class NpcThinking(EngineMessage):
    npc_id: str
    state: State


@dataclass
class NpcToken(EngineMessage):
    npc_id: str
    text: str


@dataclass
class NpcSpoke(EngineMessage):
    npc_id: str
    text: str
    state: State
    follow_up: bool


@dataclass
class AwaitingReply(EngineMessage):
    ctx: TurnContext


@dataclass
class Checking(EngineMessage):
    reply: str


@dataclass
class TurnCommitted(EngineMessage):
    turn: TurnRecord
    check: CheckResult


@dataclass
class DayFinished(EngineMessage):
    day: int


@dataclass
class SessionFinished(EngineMessage):
    session: SessionRecord


class TuiEvents(EngineEvents):
    """Posts one message per engine event to ``target`` (the game screen)."""

    def __init__(self, target: MessagePump) -> None:
        self.target = target
        self.abandoned = False

    def _post(self, message: EngineMessage) -> None:
        self.target.post_message(message)

    def npc_thinking(self, npc_id: str, state: State) -> None:
        self._post(NpcThinking(npc_id, state))

    def npc_token(self, npc_id: str, text: str) -> None:
        if self.abandoned:
            raise GenerationAbandoned("the game screen was closed")
        try:
            self._post(NpcToken(npc_id, text))
        except RuntimeError as exc:  # the event loop is gone (the app has exited)
            self.abandoned = True
            raise GenerationAbandoned("the game has exited") from exc

    def npc_message(self, npc_id: str, text: str, state: State, follow_up: bool) -> None:
        self._post(NpcSpoke(npc_id, text, state, follow_up))

    def awaiting_reply(self, ctx: TurnContext) -> None:
        self._post(AwaitingReply(ctx))

    def checking(self, reply: str) -> None:
        self._post(Checking(reply))

    def turn_committed(self, turn: TurnRecord, check: CheckResult) -> None:
        self._post(TurnCommitted(turn, check))

    def day_finished(self, day: int) -> None:
        self._post(DayFinished(day))

    def session_finished(self, session: SessionRecord) -> None:
        self._post(SessionFinished(session))
