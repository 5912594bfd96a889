"""The game: the house, the housemates, the status, the conversation and the reply box.

The engine's :class:`SessionRunner` plays the session in an exclusive Textual worker and reports
through :class:`TuiEvents`; the screen only shows what happens and hands typed replies to the
:class:`HumanUser` the runner awaits. Every turn is committed by the engine, so cancelling the
worker (quitting) at any moment loses nothing that was committed.
"""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Static
from textual.worker import Worker

from sharehouse.engine.session import EngineParams, SessionRunner
from sharehouse.engine.users import HumanUser
from sharehouse.scenario import Scenario
from sharehouse.store import SessionRecord, Store, TurnRecord
from sharehouse.tui.closeness import closeness_levels, npc_of_turn
from sharehouse.tui.context import GameContext, game_context
from sharehouse.tui.events import (
    AwaitingReply,
    Checking,
    NpcSpoke,
    NpcThinking,
    NpcToken,
    TuiEvents,
    TurnCommitted,
)
from sharehouse.tui.i18n import t
from sharehouse.tui.keys import localise_bindings
from sharehouse.tui.messages import SessionDone
from sharehouse.tui.model import LazyModel
from sharehouse.tui.screens.summary import DaySummaryScreen, summarise_day
from sharehouse.tui.text import clean
from sharehouse.tui.widgets import ChatLog, HouseMap, MapState, NpcPanel, ReplyInput, StatusInfo, StatusPanel

PLAYER_COLOUR = "#f5c211"
ERROR_COLOUR = "#e01b24"


class GameScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.request_quit", "key.quit", show=False),
        Binding("enter", "send", "key.send", key_display="Enter"),
        Binding("ctrl+j", "newline", "key.newline", key_display="Ctrl+J"),
        Binding("ctrl+r", "retry", "key.retry", show=False),
    ]

    def __init__(self, session: SessionRecord) -> None:
        super().__init__(id="game")
        self.session = session
        self.lang = session.language
        self.user = HumanUser()
        self.events = TuiEvents(self)
        self.runner: SessionRunner | None = None
        self.model: LazyModel | None = None
        self.turns: list[TurnRecord] = []
        self.awaiting = False  # True while the runner waits for the player's reply
        self.error: str | None = None
        self._speaker: str | None = None
        self._worker: Worker[None] | None = None
        self.mode: str | None = None  # the app's mode this screen is shown in (set on mount)

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def game(self) -> GameContext:
        return game_context(self)

    @property
    def scenario(self) -> Scenario:
        return self.game.scenario

    @property
    def store(self) -> Store:
        return self.game.store

    def compose(self) -> ComposeResult:
        lang = self.lang
        localise_bindings(self, lang)
        yield Header(show_clock=False)
        with Horizontal(id="game-body"):
            with Vertical(id="left"):
                yield HouseMap(self.scenario, lang, id="house-map")
                yield Static(Text(t("map.legend", lang), style="dim"), id="map-legend")
                with Vertical(id="npc-panels"):
                    for npc in self.scenario.npcs:
                        yield NpcPanel(npc, lang)
            with Vertical(id="right"):
                yield StatusPanel(self.scenario, lang, researcher=self.game.researcher, id="status")
                yield ChatLog(id="chat")
                yield ReplyInput(placeholder=t("game.placeholder", lang), id="reply")
        yield Footer()

    def action_send(self) -> None:
        """Send what is in the reply box (the box handles Enter itself; this serves footer clicks)."""
        self.submit_reply(self.query_one(ReplyInput).text)

    def action_newline(self) -> None:
        box = self.query_one(ReplyInput)
        box.insert_newline()
        box.focus()

    def on_mount(self) -> None:
        # The day's summary goes to this screen's mode even when the player has switched to another
        # (the evaluator, F6): it waits there for them.
        self.mode = self.app.current_mode
        self.model = LazyModel(
            self.game.build_model, name=self.game.model_spec, on_loading=self._model_loading
        )
        self.runner = self._new_runner()
        self.turns = list(self.runner.turns)
        self._show_history()
        self._update_status()
        self.query_one(ChatLog).set_typing(None)
        self.query_one(ReplyInput).focus()
        self._worker = self.play()

    def _new_runner(self) -> SessionRunner:
        """A runner positioned where the store says the session is."""
        assert self.model is not None
        return SessionRunner(
            self.store,
            self.scenario,
            self.session.id,
            npc_model=self.model,  # type: ignore[arg-type]
            user=self.user,
            events=self.events,
            params=EngineParams(),
        )

    def action_retry(self) -> None:
        """After a failure, carry on from the last committed turn (the store is the truth)."""
        if self.error is None or (self._worker is not None and not self._worker.is_finished):
            return
        self.error = None
        self.runner = self._new_runner()
        self.turns = list(self.runner.turns)
        self._update_status()
        self._worker = self.play()

    def on_unmount(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Cancel the game worker; a generation in progress stops at its next token."""
        self.events.abandoned = True
        if self._worker is not None and not self._worker.is_finished:
            self._worker.cancel()

    # -- the worker -------------------------------------------------------------------------
    @work(exclusive=True, group="game", exit_on_error=False)
    async def play(self) -> None:
        runner = self.runner
        assert runner is not None
        try:
            while not runner.finished:
                await runner.run(until_day_end=True)
                if runner.finished:
                    break
                finished_day = runner.fsm.day - 1 if runner.fsm.day else len(self.scenario.days)
                summary = summarise_day(self.scenario, runner.turns, finished_day)
                await self.app.push_screen(
                    DaySummaryScreen(self.scenario, self.lang, summary), wait_for_dismiss=True, mode=self.mode
                )
                self._day_heading(runner.fsm.day or finished_day)
                self._update_status()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a model or store failure: say so; everything committed stays
            self._show_error(exc)
            return
        # The app shows the closing screen in this one's place.
        self.post_message(SessionDone(runner.session.id, len(runner.turns)))

    def _model_loading(self, loading: bool) -> None:
        self.query_one(ChatLog).set_typing(
            t("game.loading_model", self.lang) if loading else self._typing_text()
        )

    def _typing_text(self) -> str | None:
        if self._speaker is None:
            return None
        return t("game.typing", self.lang, name=self.scenario.npc(self._speaker).name.get(self.lang))

    # -- showing the stored conversation ----------------------------------------------------
    def _day_heading(self, day: int) -> None:
        title = self.scenario.day(day).title.get(self.lang)
        self.query_one(ChatLog).add_heading(t("game.day_heading", self.lang, day=day, title=title))

    def _show_history(self) -> None:
        chat = self.query_one(ChatLog)
        shown_day: int | None = None
        last: dict[str, str] = {}
        for turn in self.turns:
            if turn.day != shown_day:
                self._day_heading(turn.day)
                shown_day = turn.day
            npc_id = npc_of_turn(self.scenario, turn)
            if npc_id is not None:
                npc = self.scenario.npc(npc_id)
                chat.add_message(npc.name.get(self.lang), npc.colour, turn.message, self.lang)
                last[npc_id] = turn.message
            chat.add_message(t("game.you", self.lang), PLAYER_COLOUR, turn.response, self.lang, player=True)
        runner = self.runner
        if runner is not None and not runner.finished and runner.fsm.day != shown_day:
            assert runner.fsm.day is not None
            self._day_heading(runner.fsm.day)
        for npc_id, line in last.items():
            self.query_one(f"#npc-{npc_id}", NpcPanel).last_line = line
        self._update_closeness()

    def _update_closeness(self) -> None:
        for npc_id, level in closeness_levels(self.scenario, self.turns).items():
            self.query_one(f"#npc-{npc_id}", NpcPanel).closeness = level

    def _update_status(self) -> None:
        runner = self.runner
        if runner is None:
            return
        fsm = runner.fsm
        status = self.query_one(StatusPanel)
        if fsm.finished:
            status.info = StatusInfo(day=None, state_id=None)
            return
        index, count = fsm.progress_in_day()
        status.info = StatusInfo(day=fsm.day, state_id=fsm.state, index=index, count=count)
        self._set_speaker(fsm.current.npc)

    def _set_speaker(self, npc_id: str | None) -> None:
        self._speaker = npc_id
        room = self.scenario.npc(npc_id).room if npc_id else None
        self.query_one(HouseMap).state = MapState(speaker=npc_id, player_room=room)
        for panel in self.query(NpcPanel):
            panel.speaking = panel.npc.id == npc_id

    def _show_error(self, exc: BaseException) -> None:
        chat = self.query_one(ChatLog)
        chat.end_stream()
        chat.set_typing(None)
        self.error = f"{type(exc).__name__}: {exc}"
        chat.add_message("sharehouse", ERROR_COLOUR, t("game.error", self.lang, error=self.error), self.lang)
        self.awaiting = False

    # -- engine events ----------------------------------------------------------------------
    @on(NpcThinking)
    def _npc_thinking(self, event: NpcThinking) -> None:
        self._update_status()
        self._set_speaker(event.npc_id)
        self.query_one(ChatLog).set_typing(self._typing_text())

    @on(NpcToken)
    def _npc_token(self, event: NpcToken) -> None:
        chat = self.query_one(ChatLog)
        if chat.streaming is None:
            npc = self.scenario.npc(event.npc_id)
            chat.begin_stream(npc.name.get(self.lang), npc.colour, self.lang)
        chat.stream(event.text)

    @on(NpcSpoke)
    def _npc_spoke(self, event: NpcSpoke) -> None:
        npc = self.scenario.npc(event.npc_id)
        chat = self.query_one(ChatLog)
        chat.finish_stream(npc.name.get(self.lang), npc.colour, event.text, self.lang)
        chat.set_typing(None)
        self.query_one(f"#npc-{npc.id}", NpcPanel).last_line = event.text
        self._update_status()
        self._set_speaker(npc.id)

    @on(AwaitingReply)
    def _awaiting_reply(self, event: AwaitingReply) -> None:
        self.awaiting = True
        self.query_one(ReplyInput).focus()

    @on(Checking)
    def _checking(self, event: Checking) -> None:
        if self._speaker is not None:
            name = self.scenario.npc(self._speaker).name.get(self.lang)
            self.query_one(ChatLog).set_typing(t("game.checking", self.lang, name=name))

    @on(TurnCommitted)
    def _turn_committed(self, event: TurnCommitted) -> None:
        self.turns.append(event.turn)
        self._update_closeness()
        self.query_one(ChatLog).set_typing(None)
        self._update_status()

    # -- the player's reply -----------------------------------------------------------------
    @on(ReplyInput.Submitted)
    def _submitted(self, event: ReplyInput.Submitted) -> None:
        self.submit_reply(event.value)

    def submit_reply(self, text: str) -> bool:
        """Send a reply to the waiting housemate. False (with a notice) when it cannot be sent now."""
        box = self.query_one(ReplyInput)
        if not clean(text).strip():
            self.notify(t("game.empty_reply", self.lang), severity="warning")
            return False
        if not self.user.waiting:
            name = self.scenario.npc(self._speaker).name.get(self.lang) if self._speaker else "…"
            self.notify(t("game.wait", self.lang, name=name), severity="warning")
            return False
        self.query_one(ChatLog).add_message(
            t("game.you", self.lang), PLAYER_COLOUR, text, self.lang, player=True
        )
        box.clear()
        self.awaiting = False
        self.user.submit(text)
        return True
