"""Helpers the Textual pilot and snapshot tests share."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import OptionList

from sharehouse.tui.screens import ContinueScreen, GameScreen

SNAPSHOT_DIR = Path(__file__).resolve().parent / "snapshots"


async def wait_for(pilot: Pilot, condition: Callable[[], bool], timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for the app")
        await pilot.pause(0.05)


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
    options = app.screen.query_one("#saved-games", OptionList)
    options.highlighted = next(
        i for i in range(options.option_count) if options.get_option_at_index(i).id == session_id
    )
    options.focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, GameScreen) and app.screen.awaiting)
    assert isinstance(app.screen, GameScreen)
    return app.screen
