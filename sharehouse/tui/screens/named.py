"""Dialogs the app registers by name (``App.SCREENS``, see :mod:`sharehouse.tui.names`)."""

from __future__ import annotations

from typing import TypeVar

from textual import events, on
from textual.await_complete import AwaitComplete
from textual.screen import ModalScreen

ResultT = TypeVar("ResultT")


class NamedDialog(ModalScreen[ResultT]):
    """A dialog registered by name. Textual keeps one instance of a named screen for the app's life,
    so this one builds itself again (from the app's current state and language) each time it opens
    after a dismissal, as a new dialog would; when it was only covered (by the quit dialog, or the
    evaluator's mode) it comes back as it was."""

    _dismissed = False
    _building = False

    @property
    def settled(self) -> bool:
        """Mounted and set up for this opening: False from a reopening until its :meth:`ready` has
        run (the screen is current, its widgets are being built again). Tests wait for it."""
        return self.is_mounted and not self._dismissed and not self._building

    def dismiss(self, result: ResultT | None = None) -> AwaitComplete:
        self._dismissed = True
        return super().dismiss(result)

    @on(events.ScreenResume)
    async def _reopened(self) -> None:
        if not self._dismissed:
            return
        self._building = True
        self._dismissed = False
        self.set_focus(None)  # so that the screen's auto focus picks a widget of the new build
        await self.recompose()
        self.call_after_refresh(self._ready_again)

    def _ready_again(self) -> None:
        try:
            self.ready()
        finally:
            self._building = False

    def ready(self) -> None:
        """The dialog's widgets are built (first mount, or opened again): set it up."""

    def on_mount(self) -> None:
        self.ready()
