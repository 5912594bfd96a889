"""Helpers the Textual pilot and snapshot tests share."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import OptionList

from sharehouse.tui.screens import ContinueScreen, GameScreen
from sharehouse.tui.screens.named import NamedDialog

SNAPSHOT_DIR = Path(__file__).resolve().parent / "snapshots"


def screen_settled(screen: Screen[Any]) -> bool:
    """The screen has mounted, and a named dialog has been set up for its current opening."""
    return screen.settled if isinstance(screen, NamedDialog) else screen.is_mounted


async def wait_for(pilot: Pilot, condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Until ``condition()`` holds and the current screen is set up: a pushed screen is
    ``app.screen`` before it has mounted, and a named dialog opened again before it has been built
    again (:attr:`NamedDialog.settled`); whatever the test does to it meanwhile the screen's own
    set-up may undo (see :func:`choose_option`)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (condition() and screen_settled(pilot.app.screen)):
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for the app")
        await pilot.pause(0.05)


async def choose_option(pilot: Pilot, list_id: str, option_id: str) -> None:
    """Pick the option ``option_id`` of the OptionList ``#list_id`` on the current screen, with Enter.

    Waits for the screen's own ``on_mount`` first: a screen is current before it has mounted, and a
    screen that highlights its first option on mount would otherwise undo the choice (a flake seen
    in CI: the MBTI dialog registered its first type instead of the one chosen)."""
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen_settled(screen))
    options = screen.query_one(f"#{list_id}", OptionList)
    index = next(i for i in range(options.option_count) if options.get_option_at_index(i).id == option_id)
    options.focus()
    options.highlighted = index
    await pilot.pause()
    assert options.highlighted == index, f"#{list_id}: highlighted {options.highlighted}, wanted {index}"
    await pilot.press("enter")


class SnapshotsDir:
    """Stores a test module's SVG snapshots in tests/snapshots/<module>/ instead of __snapshots__
    (wraps pytest-textual-snapshot's ``snapshot`` fixture)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def use_extension(self, extension: type) -> Any:
        class InSnapshotsDir(extension):  # type: ignore[misc,valid-type]
            @classmethod
            def dirname(cls, *, test_location: Any) -> str:
                return str(SNAPSHOT_DIR / test_location.basename)

        return self._inner.use_extension(InSnapshotsDir)


async def continue_demo(pilot: Pilot, session_id: str) -> GameScreen:
    """Continue the saved game ``session_id`` from the start screen; the game screen, waiting for the player."""
    app = pilot.app
    await pilot.click("#continue")
    await wait_for(pilot, lambda: isinstance(app.screen, ContinueScreen))
    await choose_option(pilot, "saved-games", session_id)
    await wait_for(pilot, lambda: isinstance(app.screen, GameScreen) and app.screen.awaiting)
    assert isinstance(app.screen, GameScreen)
    return app.screen
