"""Who answers the housemates: the user protocol shared by people and simulated users."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from sharehouse.llm.base import Completion


@dataclass(frozen=True)
class PastTurn:
    day: int
    npc_name: str
    message: str
    response: str
    state_id: str | None = None  # the scenario state it answered (None: not known, e.g. imported)


@dataclass
class TurnContext:
    """Everything a user sees when asked to reply."""

    language: str  # "en" | "ja" | "zh"
    day: int
    npc_name: str
    message: str  # the housemate's line to reply to
    history: list[PastTurn] = field(default_factory=list)  # this session's earlier turns, oldest first
    housemates: tuple[str, ...] = ()  # every housemate's name in the session language
    state_id: str | None = None  # the scenario state being asked (follow-ups keep it)
    dimension: str | None = None  # the MBTI dimension it probes ("E/I", ...; "none")
    poles: dict[str, str] | None = None  # what each letter's side answers, in the session language


@dataclass
class UserReply:
    text: str
    completion: Completion | None = None  # set when an LLM wrote the reply
    fallback: bool = False  # True when a canned reply stood in for unusable model output
    stance: dict[str, Any] | None = None  # what a simulated user was told to think (ground truth)
    resampled: int | None = None  # simulated users: attempts thrown away as repeats of a reply or example


@runtime_checkable
class User(Protocol):
    """A participant: a person at the keyboard or an LLM playing a persona."""

    async def reply(self, ctx: TurnContext) -> UserReply: ...


class HumanUser:
    """A person typing in the TUI: the runner awaits :meth:`reply`, the UI calls :meth:`submit`."""

    def __init__(self) -> None:
        self._pending: asyncio.Future[str] | None = None

    @property
    def waiting(self) -> bool:
        return self._pending is not None and not self._pending.done()

    async def reply(self, ctx: TurnContext) -> UserReply:
        loop = asyncio.get_running_loop()
        self._pending = loop.create_future()
        try:
            text = await self._pending
        finally:
            self._pending = None
        return UserReply(text=text)

    def submit(self, text: str) -> bool:
        """Hand the typed reply to the waiting runner. False when nobody is waiting."""
        if not self.waiting:
            return False
        assert self._pending is not None
        self._pending.set_result(text)
        return True


class ScriptedUser:
    """Replies from a fixed list, in order (tests, demos, replays)."""

    def __init__(self, replies: list[str], *, repeat_last: bool = True) -> None:
        if not replies:
            raise ValueError("ScriptedUser needs at least one reply")
        self._replies = list(replies)
        self._i = 0
        self._repeat_last = repeat_last

    async def reply(self, ctx: TurnContext) -> UserReply:
        if self._i >= len(self._replies):
            if not self._repeat_last:
                raise IndexError("ScriptedUser ran out of replies")
            return UserReply(text=self._replies[-1])
        text = self._replies[self._i]
        self._i += 1
        return UserReply(text=text)
