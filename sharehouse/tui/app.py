"""``SharehouseApp``: the Textual game. It wires the screens to the store, the scenario and a model.

The app runs two modes (:mod:`sharehouse.tui.names`): the game (:data:`~sharehouse.tui.names.GAME`,
from the start screen) and the evaluator (:data:`~sharehouse.tui.names.EVALUATOR`, F6), each with its
own stack of screens. The fixed screens are registered by name (``SCREENS``); the screens post
messages up and the app opens what they ask for.

In participant mode (a study: :mod:`sharehouse.tui.screens.participant`) the game's mode starts on
:data:`~sharehouse.tui.names.PARTICIPANT` instead of the start screen, and the app offers nothing
beyond the participant's own game: no evaluator (no F6), no list of saved games, no settings (the
model is the one the game was started with), no researcher's panel.

Dependencies are injected so tests can drive the app: ``model_factory(spec)`` builds the model
that plays the housemates (default: :func:`sharehouse.llm.load_model`); it is only called when a
housemate first needs to speak or judge a reply.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.binding import Binding

from sharehouse.engine.session import start_session
from sharehouse.llm import DEFAULT_MODEL, ChatModel, load_model, parse_spec
from sharehouse.scenario import Scenario
from sharehouse.store import SessionRecord, Store, StoreError
from sharehouse.store.evaluation import list_eval_runs
from sharehouse.study.config import StudyConfig
from sharehouse.study.participants import Participant, register
from sharehouse.tui.evaluator.navigation import EvaluatorNavigation
from sharehouse.tui.i18n import DEFAULT_LANG, UI_LANGS, t
from sharehouse.tui.keys import localise_bindings
from sharehouse.tui.messages import (
    Enrol,
    NewGame,
    ResumeParticipant,
    SessionDone,
    ShowContinue,
    ShowSettings,
)
from sharehouse.tui.names import CONTINUE, EVALUATOR, GAME, PARTICIPANT, RUNS, SETTINGS, START
from sharehouse.tui.screens.closing import ClosingScreen
from sharehouse.tui.screens.continue_game import PLAY_SOURCE, ContinueScreen
from sharehouse.tui.screens.dialogs import HelpScreen, QuitScreen
from sharehouse.tui.screens.game import GameScreen
from sharehouse.tui.screens.participant import (
    CodeGuard,
    ParticipantClosingScreen,
    ParticipantStartScreen,
    ResumeCodeScreen,
)
from sharehouse.tui.screens.settings import ModelSettings, SettingsScreen
from sharehouse.tui.screens.start import StartScreen

ModelFactory = Callable[[str], ChatModel]


class SharehouseApp(EvaluatorNavigation):
    SCREENS = {
        **EvaluatorNavigation.SCREENS,
        START: StartScreen,
        CONTINUE: ContinueScreen,
        SETTINGS: SettingsScreen,
        PARTICIPANT: ParticipantStartScreen,
    }
    MODES = {GAME: START}  # and the evaluator's mode (EvaluatorNavigation); participant mode: see __init__
    DEFAULT_MODE = GAME
    CSS_PATH = "sharehouse.tcss"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("ctrl+q", "request_quit", "key.quit", priority=True),
        Binding("f1", "help", "key.help"),
        Binding("question_mark", "help", "key.help", show=False),
        Binding("ctrl+c", "request_quit", show=False, priority=True),
        Binding("f6", "evaluator", "key.evaluator", key_display="F6", priority=True),  # TextArea binds F6 too
    ]
    #: The app's actions participant mode does not offer (their bindings are left out).
    NOT_FOR_PARTICIPANTS = ("evaluator",)
    #: The registered screens each mode of the app reaches (the others are uninstalled).
    PARTICIPANT_SCREENS = (PARTICIPANT,)
    GAME_SCREENS = (START, CONTINUE, SETTINGS, RUNS)

    def action_evaluator(self) -> None:
        """Open the evaluator on the list of evaluation runs: open one, resume one or set up a new one;
        escape from that list comes back to where the player was."""
        if self.in_evaluator or self.participant:
            return
        if not list_eval_runs(self.store):
            self.notify(t("eval.no_runs", self.lang))
        self.open_evaluator()

    def __init__(
        self,
        store: Store,
        scenario: Scenario,
        model_factory: ModelFactory | None = None,
        researcher: bool = False,
        language: str | None = None,
        *,
        model_spec: str = DEFAULT_MODEL,
        api_base: str | None = None,
        participant: bool = False,
        study: StudyConfig | None = None,
    ) -> None:
        super().__init__()
        if language is not None and language not in UI_LANGS:
            raise ValueError(f"language must be one of {', '.join(UI_LANGS)}, not {language!r}")
        if participant and researcher:
            raise ValueError("participant mode has no researcher's view")
        if study is not None and not participant:
            raise ValueError("a study is run in participant mode")
        parse_spec(model_spec, api_base=api_base)  # fail early on a spec that cannot work
        self.store = store
        self.scenario = scenario
        self.model_factory = model_factory
        self.researcher = researcher
        self.lang = language or DEFAULT_LANG
        self.model_spec = model_spec
        self.api_base = api_base
        self.finished_sessions: list[str] = []
        self.participant = participant
        self.study = study or StudyConfig()
        self.code_guard = CodeGuard()
        self.enrolled: Participant | None = None  # participant mode: who plays, once registered or resumed
        self.resume_code: str | None = None  # ... and their code, kept in memory to show again
        for name in self.GAME_SCREENS if participant else self.PARTICIPANT_SCREENS:
            self.uninstall_screen(name)
        if participant:
            # Before the app runs no mode has screens yet: the evaluator's mode goes, and the game's
            # starts on the participant screen (Textual's remove_mode/add_mode need a running loop
            # and refuse the current mode).
            del self._modes[EVALUATOR]
            self._modes[GAME] = PARTICIPANT
        self.localise()
        self.title = scenario.title.get(self.lang)

    def localise(self) -> None:
        """The footer's key descriptions in the interface language (participant mode leaves out
        the bindings it does not offer)."""
        localise_bindings(self, self.lang, without=self.NOT_FOR_PARTICIPANTS if self.participant else ())

    # -- settings ---------------------------------------------------------------------------
    def set_language(self, lang: str) -> None:
        if lang not in UI_LANGS:
            raise ValueError(f"unsupported language {lang!r}")
        self.lang = lang
        self.title = self.scenario.title.get(lang)
        self.localise()
        self.refresh_bindings()

    def build_model(self) -> ChatModel:
        """The housemates' model for the current settings (runs off the event loop)."""
        if self.model_factory is not None:
            return self.model_factory(self.model_spec)
        return load_model(self.model_spec, api_base=self.api_base)

    def llm_config(self) -> dict[str, object]:
        return parse_spec(self.model_spec, api_base=self.api_base).model_dump()

    # -- screens ----------------------------------------------------------------------------
    @property
    def game_screen(self) -> GameScreen | None:
        return next((s for s in self.get_screen_stack(GAME) if isinstance(s, GameScreen)), None)

    def new_game(self, nickname: str, lang: str) -> SessionRecord:
        """Create a session for the player and open the game screen on it."""
        self.set_language(lang)
        rec = start_session(
            self.store,
            self.scenario,
            kind="human",
            source=PLAY_SOURCE,
            user_id=nickname,
            language=lang,
            llm_config=self.llm_config(),
        )
        self.open_game(rec)
        return rec

    def continue_game(self, session_id: str) -> SessionRecord:
        rec = self.store.get_session(session_id)
        if rec is None:
            raise KeyError(f"no session {session_id!r} in {self.store.path}")
        self.open_game(rec)
        return rec

    def enrol(self, message: Enrol) -> SessionRecord | None:
        """Participant mode: register a new participant (who agreed to ``message.consent``) with a
        session of their own, show their resume code, then open the game on it. None (with a notice)
        when the store could not take it; nothing is then stored."""
        try:
            participant, code, rec = register(
                self.store,
                self.scenario,
                language=message.lang,
                nickname=message.nickname,
                consent=message.consent,
                study=self.study,
                self_mbti=message.self_mbti,
                llm_config=self.llm_config(),
            )
        except StoreError as exc:
            self.notify(t("participant.store_busy", self.lang, error=type(exc).__name__), severity="error")
            return None
        self.playing_as(participant, code)
        self.set_language(rec.language)
        self.push_screen(ResumeCodeScreen(rec.language, code), lambda _: self.open_game(rec))
        return rec

    def resume_participant(self, participant: Participant, code: str) -> SessionRecord:
        """Participant mode: open the session of the participant whose resume code was given."""
        self.playing_as(participant, code)
        return self.continue_game(participant.session_id)

    def playing_as(self, participant: Participant, code: str) -> None:
        self.enrolled, self.resume_code = participant, code
        self.sub_title = participant.nickname

    def open_game(self, rec: SessionRecord) -> None:
        """The game screen on ``rec``, over the start screen (the first screen of the game's mode
        stays under it; nothing goes back to it)."""
        self.set_language(rec.language)
        self.push_screen(GameScreen(rec))

    def session_done(self, session_id: str, replies: int) -> None:
        """The closing screen takes the game screen's place; when the player is looking at the
        evaluator, it goes over the game screen in the game's mode and waits there."""
        self.finished_sessions.append(session_id)
        closing: ClosingScreen | ParticipantClosingScreen
        if self.participant and self.enrolled is not None and self.resume_code is not None:
            closing = ParticipantClosingScreen(
                self.scenario,
                self.lang,
                session_id,
                replies,
                participant_id=self.enrolled.id,
                code=self.resume_code,
                questionnaire=self.study.post_questionnaire,
            )
        else:
            closing = ClosingScreen(self.scenario, self.lang, session_id, replies)
        if self.current_mode == GAME:
            self.switch_screen(closing)
        else:
            self.push_screen(closing, mode=GAME)

    # -- what the screens ask (messages up) ---------------------------------------------------
    def on_new_game(self, message: NewGame) -> None:
        self.new_game(message.nickname, message.lang)

    def on_show_continue(self, _: ShowContinue) -> None:
        if not self.participant:
            self.show_continue()

    def on_show_settings(self, _: ShowSettings) -> None:
        if not self.participant:
            self.show_settings()

    def on_enrol(self, message: Enrol) -> None:
        if self.participant:
            self.enrol(message)

    def on_resume_participant(self, message: ResumeParticipant) -> None:
        if self.participant:
            self.resume_participant(message.participant, message.code)

    def on_session_done(self, message: SessionDone) -> None:
        self.session_done(message.session_id, message.replies)

    def show_continue(self) -> None:
        def chosen(session_id: str | None) -> None:
            if session_id:
                self.continue_game(session_id)

        self.push_screen(CONTINUE, chosen)

    def show_settings(self) -> None:
        def saved(settings: ModelSettings | None) -> None:
            if settings is None:
                return
            self.model_spec, self.api_base = settings.spec, settings.api_base
            self.get_screen(START, StartScreen).refresh_model_label()

        self.push_screen(SETTINGS, saved)

    # -- actions ----------------------------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen | QuitScreen):
            body = t("help.body_participant", self.lang) if self.participant else None
            self.push_screen(HelpScreen(self.lang, body))

    def action_request_quit(self) -> None:
        if isinstance(self.screen, QuitScreen):
            return

        def answered(quit_now: bool | None) -> None:
            if quit_now:
                self.quit_now()

        question = None
        if self.participant and self.resume_code is not None:
            question = t("quit.question_participant", self.lang, code=self.resume_code)
        self.push_screen(QuitScreen(self.lang, question), answered)

    def quit_now(self) -> None:
        """Stop the game worker (nothing committed is lost) and leave."""
        game = self.game_screen
        if game is not None:
            game.stop()
        self.exit()
