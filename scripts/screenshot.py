"""Save an SVG screenshot of the game screen to docs/screenshot.svg (no model is loaded).

    .venv/bin/python scripts/screenshot.py [--language en|ja|zh] [--out docs/screenshot.svg]

The game is a saved demo session (see ``sharehouse.tui.demo``) opened through the start screen's
"continue" dialog, exactly as a returning player would see it.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from textual.widgets import OptionList, TextArea

from sharehouse.lang import LANGS
from sharehouse.llm import ChatModel
from sharehouse.scenario import default_scenario_path, load_scenario
from sharehouse.store import Store
from sharehouse.tui import SharehouseApp
from sharehouse.tui.demo import prefill_demo_session
from sharehouse.tui.screens import ContinueScreen, GameScreen

ROOT = Path(__file__).resolve().parents[1]
SIZE = (120, 40)


def _no_model(spec: str) -> ChatModel:
    raise RuntimeError(f"the screenshot needs no model (asked for {spec})")


async def _until(app: SharehouseApp, pilot, condition, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError("the app did not reach the game screen")
        await pilot.pause(0.05)


async def take(out: Path, lang: str) -> None:
    scenario = load_scenario(default_scenario_path())
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "demo.duckdb") as store:
        rec = prefill_demo_session(store, scenario, lang, answered=2)
        app = SharehouseApp(store, scenario, model_factory=_no_model)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.click("#continue")
            await _until(app, pilot, lambda: isinstance(app.screen, ContinueScreen))
            options = app.screen.query_one("#saved-games", OptionList)
            options.highlighted = 0
            options.focus()
            await pilot.press("enter")
            await _until(app, pilot, lambda: isinstance(app.screen, GameScreen) and app.screen.awaiting)
            for area in app.screen.query(TextArea):
                area.cursor_blink = False
            await pilot.pause()
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(app.export_screenshot(title=scenario.title.get(lang)), encoding="utf-8")
        assert rec.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", choices=list(LANGS), default="en")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.svg")
    args = parser.parse_args()
    asyncio.run(take(args.out, args.language))
    print(args.out)


if __name__ == "__main__":
    main()
