"""What the game's screens ask of the app: they post these, the app's handlers act on them (and open
the screens, by name where they are registered: :mod:`sharehouse.tui.names`)."""

from __future__ import annotations

from textual.message import Message

from sharehouse.study.consent import ConsentText
from sharehouse.study.participants import Participant


class NewGame(Message):
    """Start a new session for ``nickname`` in ``lang`` and open the game on it."""

    def __init__(self, nickname: str, lang: str) -> None:
        super().__init__()
        self.nickname, self.lang = nickname, lang


class ShowContinue(Message):
    """Offer the unfinished games to continue."""


class ShowSettings(Message):
    """Open the model settings."""


class SessionDone(Message):
    """Session ``session_id`` was played to its end (the player gave ``replies`` replies): the app
    shows the closing screen in its place."""

    def __init__(self, session_id: str, replies: int) -> None:
        super().__init__()
        self.session_id, self.replies = session_id, replies


class Enrol(Message):
    """A new participant agreed to ``consent`` and chose a ``nickname`` (and, when the study asks,
    their own MBTI type): register them, show their resume code, then open the game."""

    def __init__(self, lang: str, consent: ConsentText, nickname: str, self_mbti: str | None) -> None:
        super().__init__()
        self.lang, self.consent, self.nickname, self.self_mbti = lang, consent, nickname, self_mbti


class ResumeParticipant(Message):
    """``participant`` gave their resume ``code``: open their session."""

    def __init__(self, participant: Participant, code: str) -> None:
        super().__init__()
        self.participant, self.code = participant, code
