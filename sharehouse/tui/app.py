"""``SharehouseApp``: the Textual game. It wires the screens to the store, the scenario and a model.

The app runs two modes (:mod:`sharehouse.tui.names`): the game (:data:`~sharehouse.tui.names.GAME`,
from the start screen) and the evaluator (:data:`~sharehouse.tui.names.EVALUATOR`, F6), each with its
own stack of screens. The fixed screens are registered by name (``SCREENS``); the screens post
messages up and the app opens what they ask for.

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
from sharehouse.store import SessionRecord, Store
from sharehouse.store.evaluation import list_eval_runs
from sharehouse.tui.evaluator.navigation import EvaluatorNavigation
from sharehouse.tui.i18n import DEFAULT_LANG, UI_LANGS, t
from sharehouse.tui.keys import localise_bindings
from sharehouse.tui.messages import NewGame, SessionDone, ShowContinue, ShowSettings
from sharehouse.tui.names import CONTINUE, GAME, SETTINGS, START
from sharehouse.tui.screens.closing import ClosingScreen
from sharehouse.tui.screens.continue_game import PLAY_SOURCE, ContinueScreen
from sharehouse.tui.screens.dialogs import HelpScreen, QuitScreen
from sharehouse.tui.screens.game import GameScreen
from sharehouse.tui.screens.settings import ModelSettings, SettingsScreen
from sharehouse.tui.screens.start import StartScreen

ModelFactory = Callable[[str], ChatModel]


class SharehouseApp(EvaluatorNavigation):
    SCREENS = {
        **EvaluatorNavigation.SCREENS,
        START: StartScreen,
        CONTINUE: ContinueScreen,
        SETTINGS: SettingsScreen,
    }
    MODES = {GAME: START}  # and the evaluator's mode (EvaluatorNavigation)
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

    def action_evaluator(self) -> None:
        """Open the evaluator on the list of evaluation runs: open one, resume one or set up a new one;
        escape from that list comes back to where the player was."""
        if self.in_evaluator:
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
    ) -> None:
        super().__init__()
        if language is not None and language not in UI_LANGS:
            raise ValueError(f"language must be one of {', '.join(UI_LANGS)}, not {language!r}")
        parse_spec(model_spec, api_base=api_base)  # fail early on a spec that cannot work
        self.store = store
        self.scenario = scenario
        self.model_factory = model_factory
        self.researcher = researcher
        self.lang = language or DEFAULT_LANG
        self.model_spec = model_spec
        self.api_base = api_base
        self.finished_sessions: list[str] = []
        localise_bindings(self, self.lang)
        self.title = scenario.title.get(self.lang)

    # -- settings ---------------------------------------------------------------------------
    def set_language(self, lang: str) -> None:
        if lang not in UI_LANGS:
            raise ValueError(f"unsupported language {lang!r}")
        self.lang = lang
        self.title = self.scenario.title.get(lang)
        localise_bindings(self, lang)
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

    def open_game(self, rec: SessionRecord) -> None:
        """The game screen on ``rec``, over the start screen (the first screen of the game's mode
        stays under it; nothing goes back to it)."""
        self.set_language(rec.language)
        self.push_screen(GameScreen(rec))

    def session_done(self, session_id: str, replies: int) -> None:
        """The closing screen takes the game screen's place; when the player is looking at the
        evaluator, it goes over the game screen in the game's mode and waits there."""
        self.finished_sessions.append(session_id)
        closing = ClosingScreen(self.scenario, self.lang, session_id, replies)
        if self.current_mode == GAME:
            self.switch_screen(closing)
        else:
            self.push_screen(closing, mode=GAME)

    # -- what the screens ask (messages up) ---------------------------------------------------
    def on_new_game(self, message: NewGame) -> None:
        self.new_game(message.nickname, message.lang)

    def on_show_continue(self, _: ShowContinue) -> None:
        self.show_continue()

    def on_show_settings(self, _: ShowSettings) -> None:
        self.show_settings()

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
            self.push_screen(HelpScreen(self.lang))

    def action_request_quit(self) -> None:
        if isinstance(self.screen, QuitScreen):
            return

        def answered(quit_now: bool | None) -> None:
            if quit_now:
                self.quit_now()

        self.push_screen(QuitScreen(self.lang), answered)

    def quit_now(self) -> None:
        """Stop the game worker (nothing committed is lost) and leave."""
        game = self.game_screen
        if game is not None:
            game.stop()
        self.exit()
