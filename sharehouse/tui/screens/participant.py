"""Participant mode: a study's game, played by people who must not see each other's games.

The first screen (:class:`ParticipantStartScreen`, registered as
:data:`~sharehouse.tui.names.PARTICIPANT`) offers the language, then "I'm new" or "I have a resume
code". A new participant reads the consent text (:func:`~sharehouse.study.consent.consent_text`)
and agrees or declines: declining shows a thank-you and ends the game with nothing stored; agreeing
asks, when the study wants it, their own MBTI type, then a nickname (shown on their screen only),
and the app registers them and shows their resume code before the game. A returning participant
types their code; a wrong code says only that it opens no game, and after
:attr:`CodeGuard.free_tries` wrong codes each further try waits (per process: under ``serve``, per
browser connection). The closing screen shows the code again and, when the study asks, the
post-game questionnaire.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar, cast

from pydantic import ValidationError
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import (
    Button,
    Footer,
    Header,
    Input,
    OptionList,
    RadioButton,
    RadioSet,
    Select,
    Static,
    TextArea,
)
from textual.widgets.option_list import Option

from sharehouse.scenario import Scenario
from sharehouse.store import StoreError
from sharehouse.study.codes import EXAMPLE_CODE, normalize_code
from sharehouse.study.config import (
    AGE_BANDS,
    MAX_COMMENT_CHARS,
    MBTI_CHOICES,
    MBTI_UNKNOWN,
    NATURALNESS_RANGE,
    PostAnswers,
    StudyConfig,
)
from sharehouse.study.consent import ConsentText, consent_text
from sharehouse.study.participants import Participant, find_by_code, record_post_answers
from sharehouse.tui.context import GameContext
from sharehouse.tui.i18n import t
from sharehouse.tui.keys import localise_bindings
from sharehouse.tui.messages import Enrol, ResumeParticipant
from sharehouse.tui.screens.start import MAX_NICKNAME, clean_nickname
from sharehouse.tui.screens.start_card import (
    chosen_language,
    compose_heading,
    compose_language_choice,
    switch_language,
)
from sharehouse.tui.text import clean

ResultT = TypeVar("ResultT")

#: The longest text the resume code box takes (a code with spaces or full-width characters fits).
MAX_CODE_INPUT = 40
#: The age band that is an answer of its own ("prefer not to say"), labelled in the interface language.
AGE_UNDISCLOSED = "prefer-not-to-say"


@dataclass
class CodeGuard:
    """The wrong resume codes this process was given. The first :attr:`free_tries` cost nothing;
    after them each try must wait :attr:`base_wait_s` after the last wrong code, doubling with each
    further wrong code up to :attr:`max_wait_s`. Only well-formed codes that open no game count
    (a malformed one cannot find anybody's game)."""

    free_tries: int = 5
    base_wait_s: float = 30.0
    max_wait_s: float = 900.0
    clock: Callable[[], float] = field(default=time.monotonic)
    wrong: int = 0
    last_wrong: float | None = None

    def wait_left(self) -> float:
        """Seconds before the next code may be tried (0: now)."""
        if self.wrong < self.free_tries or self.last_wrong is None:
            return 0.0
        wait = min(self.max_wait_s, self.base_wait_s * 2 ** (self.wrong - self.free_tries))
        return max(0.0, self.last_wrong + wait - self.clock())

    def failed(self) -> None:
        self.wrong += 1
        self.last_wrong = self.clock()


class ParticipantContext(GameContext, Protocol):
    """What the participant screens read from the app, beyond the game's context."""

    study: StudyConfig
    code_guard: CodeGuard


def participant_context(screen: Screen[Any]) -> ParticipantContext:
    """The context of the participant-mode app ``screen`` is shown in."""
    return cast(ParticipantContext, screen.app)


@dataclass(frozen=True)
class Resumed:
    participant: Participant
    code: str


# -- the first screen ---------------------------------------------------------------------------
class ParticipantStartScreen(Screen[None]):
    BINDINGS = [Binding("escape", "app.request_quit", "key.quit", show=False)]

    def __init__(self) -> None:
        super().__init__(id="participant-start")

    @property
    def ctx(self) -> ParticipantContext:
        return participant_context(self)

    @property
    def lang(self) -> str:
        return self.ctx.lang

    def compose(self) -> ComposeResult:
        lang = self.lang
        scenario = self.ctx.scenario
        localise_bindings(self, lang)
        yield Header(show_clock=False)
        with VerticalScroll(id="start-body"):
            with Vertical(id="start-card"):
                yield from compose_heading(scenario, lang)
                yield Static(Text(t("participant.welcome", lang)), id="participant-welcome")
                yield from compose_language_choice(lang)
                with Horizontal(id="start-buttons"):
                    yield Button(t("participant.new", lang), id="new-participant", variant="primary")
                    yield Button(t("participant.have_code", lang), id="have-code")
                    yield Button(t("start.quit", lang), id="quit", variant="error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#new-participant", Button).focus()

    async def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        code = chosen_language(event)
        if code != self.lang:
            await switch_language(self, self.ctx, code)

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id
        if button == "new-participant":
            self.enrol()
        elif button == "have-code":
            self.resume()
        elif button == "quit":
            await self.run_action("app.request_quit")

    @work(exclusive=True, group="participant")
    async def enrol(self) -> None:
        """Consent, then (if the study asks) the MBTI type, then the nickname; the app registers the
        participant. Back from any step returns here with nothing stored."""
        lang = self.lang
        consent = consent_text(lang)
        agreed = await self.app.push_screen_wait(ConsentScreen(consent))
        if agreed is None:
            return
        if not agreed:
            await self.app.push_screen_wait(DeclinedScreen(lang))
            self.app.exit()
            return
        self_mbti: str | None = None
        if self.ctx.study.pre_mbti:
            self_mbti = await self.app.push_screen_wait(MbtiScreen(lang))
            if self_mbti is None:
                return
        nickname = await self.app.push_screen_wait(NicknameScreen(lang))
        if nickname is None:
            return
        self.post_message(Enrol(lang, consent, nickname, self_mbti))

    def resume(self) -> None:
        def given(resumed: Resumed | None) -> None:
            if resumed is not None:
                self.post_message(ResumeParticipant(resumed.participant, resumed.code))

        self.app.push_screen(ResumeScreen(self.lang), given)


# -- consent --------------------------------------------------------------------------------------
class ConsentScreen(Screen[bool | None]):
    """The consent text. Dismisses True (agree), False (decline) or None (back, nothing decided)."""

    BINDINGS = [Binding("escape", "back", "key.back")]

    def __init__(self, consent: ConsentText) -> None:
        super().__init__(id="consent-screen")
        self.consent = consent

    def compose(self) -> ComposeResult:
        lang = self.consent.language
        localise_bindings(self, lang)
        yield Header(show_clock=False)
        with VerticalScroll(id="consent-scroll"):
            with Vertical(id="consent-card"):
                yield Static(Text(self.consent.title, style="bold"), id="consent-heading")
                yield Static(
                    Text(t("participant.consent_version", lang, version=self.consent.version), style="dim"),
                    id="consent-version",
                )
                yield Static(Text(self.consent.body), id="consent-body")
        with Horizontal(id="consent-buttons"):  # always in sight, however long the text
            yield Button(t("participant.agree", lang), id="agree", variant="primary")
            yield Button(t("participant.decline", lang), id="decline")
        yield Footer()

    def on_mount(self) -> None:
        # Not a button: reading first, and Enter must not agree by accident.
        self.query_one("#consent-scroll", VerticalScroll).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "agree")

    def action_back(self) -> None:
        self.dismiss(None)


class DeclinedScreen(ModalScreen[None]):
    """Thanks after declining; nothing was stored. The game ends when it is closed."""

    BINDINGS = [Binding("escape", "close", "key.quit")]

    def __init__(self, lang: str) -> None:
        super().__init__(id="declined")
        self.lang = lang

    def compose(self) -> ComposeResult:
        localise_bindings(self, self.lang)
        with Vertical(classes="dialog", id="declined-dialog"):
            yield Static(
                Text(t("participant.declined_title", self.lang), style="bold"), classes="dialog-title"
            )
            yield Static(Text(t("participant.declined_text", self.lang)), id="declined-text")
            yield Button(t("participant.close", self.lang), id="close-declined", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#close-declined", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


# -- the dialogs that ask something ---------------------------------------------------------------
class AskDialog(ModalScreen[ResultT]):
    """A dialog in ``lang`` that asks the participant something; escape goes back (None)."""

    BINDINGS = [Binding("escape", "back", "key.back")]
    #: The screen's id.
    SCREEN_ID: ClassVar[str]

    def __init__(self, lang: str) -> None:
        super().__init__(id=self.SCREEN_ID)
        self.lang = lang

    def action_back(self) -> None:
        self.dismiss(None)


def compose_question(title: str, text: str) -> ComposeResult:
    """A dialog's title and the help text under it."""
    yield Static(Text(title, style="bold"), classes="dialog-title")
    yield Static(Text(text), classes="help-text")


def compose_go_back(go_label: str, go_id: str, lang: str) -> ComposeResult:
    """A dialog's row of buttons: ``go_label`` (the default) and back."""
    with Horizontal(classes="dialog-buttons"):
        yield Button(go_label, id=go_id, variant="primary")
        yield Button(t("participant.back", lang), id="back")


# -- the instruments before the game --------------------------------------------------------------
class MbtiScreen(AskDialog[str | None]):
    """The participant's own MBTI type: one of :data:`MBTI_CHOICES` ("unknown" is "I don't know"),
    or None (back)."""

    SCREEN_ID = "mbti"

    def compose(self) -> ComposeResult:
        lang = self.lang
        localise_bindings(self, lang)
        with Vertical(classes="dialog", id="mbti-dialog"):
            yield from compose_question(t("participant.mbti_title", lang), t("participant.mbti_text", lang))
            yield OptionList(
                *(
                    Option(t("participant.mbti_unknown", lang) if c == MBTI_UNKNOWN else c, id=c)
                    for c in MBTI_CHOICES
                ),
                id="mbti-choices",
            )
            yield Button(t("participant.back", lang), id="back")

    def on_mount(self) -> None:
        choices = self.query_one("#mbti-choices", OptionList)
        choices.highlighted = 0
        choices.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)


class NicknameScreen(AskDialog[str | None]):
    """A nickname shown on the participant's screen (cleaned; never a key), or None (back)."""

    SCREEN_ID = "participant-nickname"

    def compose(self) -> ComposeResult:
        lang = self.lang
        localise_bindings(self, lang)
        with Vertical(classes="dialog", id="nickname-dialog"):
            yield from compose_question(
                t("participant.nickname_title", lang), t("participant.nickname_text", lang)
            )
            yield Input(id="nickname", max_length=MAX_NICKNAME)
            yield from compose_go_back(t("participant.next", lang), "next", lang)

    def on_mount(self) -> None:
        self.query_one("#nickname", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.done()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "next":
            self.done()
        else:
            self.dismiss(None)

    def done(self) -> None:
        nickname = clean_nickname(self.query_one("#nickname", Input).value)
        if not nickname:
            self.notify(t("participant.need_nickname", self.lang), severity="warning")
            self.query_one("#nickname", Input).focus()
            return
        self.dismiss(nickname)


class ResumeCodeScreen(ModalScreen[None]):
    """The new participant's resume code, before the game starts."""

    def __init__(self, lang: str, code: str) -> None:
        super().__init__(id="resume-code-shown")
        self.lang = lang
        self.code = code

    def compose(self) -> ComposeResult:
        lang = self.lang
        localise_bindings(self, lang)
        with Vertical(classes="dialog", id="code-dialog"):
            yield Static(Text(t("participant.code_title", lang), style="bold"), classes="dialog-title")
            yield Static(Text(self.code), classes="resume-code", id="new-code")
            yield Static(Text(t("participant.code_text", lang)), classes="help-text")
            yield Button(t("participant.code_done", lang), id="code-done", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#code-done", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)


# -- coming back ----------------------------------------------------------------------------------
class ResumeScreen(AskDialog[Resumed | None]):
    """Asks for a resume code. Dismisses with the participant it opens, or None (back). A wrong code
    gets one message whatever the reason (unknown or withdrawn), and counts in the app's
    :class:`CodeGuard`."""

    SCREEN_ID = "resume"

    @property
    def ctx(self) -> ParticipantContext:
        return participant_context(self)

    def compose(self) -> ComposeResult:
        lang = self.lang
        localise_bindings(self, lang)
        with Vertical(classes="dialog", id="resume-dialog"):
            yield from compose_question(
                t("participant.resume_title", lang), t("participant.resume_text", lang, example=EXAMPLE_CODE)
            )
            yield Input(id="resume-code", max_length=MAX_CODE_INPUT, placeholder=EXAMPLE_CODE)
            yield Static("", id="resume-error")
            yield from compose_go_back(t("participant.resume_go", lang), "resume-go", lang)

    def on_mount(self) -> None:
        self.query_one("#resume-code", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.try_code(event.value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "resume-go":
            self.try_code(self.query_one("#resume-code", Input).value)
        else:
            self.dismiss(None)

    def try_code(self, text: str) -> None:
        guard = self.ctx.code_guard
        wait = guard.wait_left()
        if wait > 0:
            self.say(t("participant.code_wait", self.lang, seconds=math.ceil(wait)))
            return
        try:
            code = normalize_code(text)
        except ValueError:
            self.say(t("participant.code_malformed", self.lang, example=EXAMPLE_CODE))
            return
        try:
            participant = find_by_code(self.ctx.store, code)
        except StoreError as exc:
            self.say(t("participant.store_busy", self.lang, error=type(exc).__name__))
            return
        if participant is None:
            guard.failed()
            self.query_one("#resume-code", Input).value = ""
            self.say(t("participant.code_unknown", self.lang))
            return
        self.dismiss(Resumed(participant, code))

    def say(self, message: str) -> None:
        self.query_one("#resume-error", Static).update(Text(message, style="bold"))
        self.query_one("#resume-code", Input).focus()


# -- after the game -------------------------------------------------------------------------------
class ParticipantClosingScreen(Screen[None]):
    """After day five in participant mode: thanks, the resume code again and, when the study asks,
    the post-game questionnaire (each answer optional; saved with
    :func:`~sharehouse.study.participants.record_post_answers` when sent)."""

    BINDINGS = [Binding("escape", "app.request_quit", "key.quit", show=False)]

    def __init__(
        self,
        scenario: Scenario,
        lang: str,
        session_id: str,
        replies: int,
        *,
        participant_id: str,
        code: str,
        questionnaire: bool,
    ) -> None:
        super().__init__(id="closing")
        self.scenario = scenario
        self.lang = lang
        self.session_id = session_id
        self.replies = replies
        self.participant_id = participant_id
        self.code = code
        self.questionnaire = questionnaire
        self.sent: PostAnswers | None = None

    @property
    def ctx(self) -> ParticipantContext:
        return participant_context(self)

    def compose(self) -> ComposeResult:
        lang = self.lang
        localise_bindings(self, lang)
        yield Header(show_clock=False)
        with VerticalScroll(classes="dialog", id="closing-dialog"):
            yield Static(Text(t("closing.title", lang), style="bold"), classes="dialog-title")
            house = self.scenario.house.name.get(lang)
            text = t("closing.text", lang, house=house, count=self.replies, session=self.session_id)
            yield Static(Text(text), id="closing-text")
            yield Static(
                Text(t("participant.closing_code", lang, code=self.code)),
                classes="resume-code",
                id="closing-code",
            )
            yield Static(Text(t("participant.closing_keep", lang)), classes="help-text")
            if self.questionnaire:
                with Vertical(id="survey"):
                    yield Static(Text(t("participant.survey_title", lang), style="bold"), id="survey-title")
                    yield Static(t("participant.age", lang), classes="field-label")
                    yield Select[str](
                        [
                            (
                                t("participant.age_undisclosed", lang) if band == AGE_UNDISCLOSED else band,
                                band,
                            )
                            for band in AGE_BANDS
                        ],
                        prompt=t("participant.no_answer", lang),
                        id="age-band",
                    )
                    yield Static(t("participant.naturalness", lang), classes="field-label")
                    low, high = NATURALNESS_RANGE
                    with RadioSet(id="naturalness"):
                        for score in range(low, high + 1):
                            yield RadioButton(str(score), id=f"natural-{score}")
                    yield Static(t("participant.comment", lang), classes="field-label")
                    yield TextArea(id="comment", soft_wrap=True, show_line_numbers=False)
                    yield Button(t("participant.send", lang), id="send-answers", variant="primary")
            yield Button(
                t("closing.quit", lang),
                id="close-game",
                variant="primary" if not self.questionnaire else "default",
            )
        yield Footer()

    def on_mount(self) -> None:
        first = "#age-band" if self.questionnaire else "#close-game"
        self.query_one(first).focus()

    def answers(self) -> PostAnswers | None:
        """The form's answers; None (with a notice) when they cannot be stored as they are."""
        age = self.query_one("#age-band", Select).value
        natural = self.query_one("#naturalness", RadioSet).pressed_button
        comment = self.query_one("#comment", TextArea).text
        try:
            return PostAnswers(
                age_band=age if isinstance(age, str) else None,
                naturalness=int(natural.id.removeprefix("natural-")) if natural and natural.id else None,
                comment=comment,
            )
        except ValidationError:  # only the comment can be wrong: the other answers are choices
            self.notify(
                t(
                    "participant.comment_too_long",
                    self.lang,
                    count=len(clean(comment)),
                    limit=MAX_COMMENT_CHARS,
                ),
                severity="warning",
            )
            return None

    def send(self) -> None:
        answers = self.answers()
        if answers is None:
            return
        try:
            record_post_answers(self.ctx.store, self.participant_id, answers)
        except StoreError as exc:
            self.notify(t("participant.store_busy", self.lang, error=type(exc).__name__), severity="error")
            return
        self.sent = answers
        survey = self.query_one("#survey", Vertical)
        survey.remove_children()
        survey.mount(Static(Text(t("participant.sent", self.lang), style="bold"), id="survey-sent"))
        self.query_one("#close-game", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "send-answers":
            self.send()
        elif event.button.id == "close-game":
            self.app.exit()
