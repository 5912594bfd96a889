"""The game in participants' browsers: textual-serve's web server, one game process per connection.

textual-serve (the Textual project's server for Textual apps) runs a command for every websocket a
browser opens and relays the terminal between them; the page draws it with xterm.js. Here the
command is ``sharehouse play --participant`` on the shared store and the shared model server, so a
connection is one participant, in a process of its own: it knows nothing of the other connections.

:class:`GameServer` changes four things of textual-serve's ``Server``:

- the page is this package's own (``templates/app_index.html``): no fonts from the internet (the
  participant's browser contacts only this server), the websocket address taken from the address the
  browser used (so ``--host 0.0.0.0`` and reverse proxies work), and a closing message that says the
  answers are saved;
- a connection's terminal size is bounded (a hostile size would make the game draw millions of
  cells), its messages are capped at :data:`MAX_MESSAGE_BYTES`, and malformed messages are ignored;
- at most ``max_games`` games run at once; a connection beyond that is told the house is full;
- shutting down (Ctrl-C, SIGTERM) closes every connection and ends every game process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shlex
import sys
from pathlib import Path
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web
from rich.console import Console
from rich.logging import RichHandler
from textual_serve.app_service import AppService
from textual_serve.server import Server

from sharehouse.serving.model_server import Endpoint

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
#: Terminal sizes a browser may ask for (columns, rows); anything outside is clamped.
MIN_SIZE = (20, 8)
MAX_SIZE = (400, 150)
#: The largest websocket message accepted: a reply is at most 20 000 characters (80 kB in UTF-8).
MAX_MESSAGE_BYTES = 256 * 1024
#: Games running at once by default (each is a Python process of its own).
DEFAULT_MAX_GAMES = 16
#: Seconds a game process gets to exit after it is asked to quit, before it is killed.
QUIT_TIMEOUT_S = 10.0
FULL_MESSAGE = (
    "\r\n  The house is full right now: too many participants are playing at once.\r\n"
    "  Please try again in a few minutes (reload this page).\r\n"
)


def game_argv(
    *,
    db: Path,
    endpoint: Endpoint,
    study: Path | None = None,
    python: str = sys.executable,
) -> list[str]:
    """The game a connection runs: ``sharehouse play --participant`` on the shared store and model."""
    argv = [python, "-m", "sharehouse.cli", "play", "--participant"]
    argv += ["--db", str(db), "--model", endpoint.litellm_model, "--api-base", endpoint.api_base]
    if study is not None:
        argv += ["--study", str(study)]
    return argv


def shell_command(argv: list[str]) -> str:
    """``argv`` as the shell line textual-serve runs; ``exec`` makes the game the process itself,
    so ending it ends the game (not only a shell around it)."""
    return "exec " + shlex.join(argv)


def clamp_size(width: object, height: object) -> tuple[int, int]:
    """A terminal size within :data:`MIN_SIZE` .. :data:`MAX_SIZE` (80x24 for what is not a number)."""

    def bound(value: object, default: int, low: int, high: int) -> int:
        try:
            number = int(str(value))
        except ValueError:
            number = default
        return max(low, min(high, number))

    return (
        bound(width, 80, MIN_SIZE[0], MAX_SIZE[0]),
        bound(height, 24, MIN_SIZE[1], MAX_SIZE[1]),
    )


class GameProcess(AppService):
    """One connection's game process (textual-serve's ``AppService``): when the process ends, for
    whatever reason, the connection is closed (the page then says the game has ended); it can be killed."""

    async def run(self) -> None:
        await super().run()
        await self.remote_close()

    def kill(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()

    async def wait(self) -> None:
        """Until the process has exited (and is reaped)."""
        if self._process is not None:
            await self._process.wait()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None


class GameServer(Server):
    """textual-serve's server for the game; see the module docstring for what it changes."""

    def __init__(
        self,
        command: str,
        *,
        host: str,
        port: int,
        title: str = "sharehouse",
        max_games: int = DEFAULT_MAX_GAMES,
        console: Console | None = None,
    ) -> None:
        super().__init__(command, host=host, port=port, title=title, templates_path=TEMPLATES)
        self.max_games = max_games
        if console is not None:
            self.console = console
        self.games: dict[web.WebSocketResponse, GameProcess] = {}
        self.started = 0  # connections that got a game, since the start
        self.refused = 0  # connections turned away because max_games were running

    def initialize_logging(self) -> None:
        """textual-serve's own warnings and errors on the console; no access log (it would list
        every participant's address), and the root logger is left alone."""
        handler = RichHandler(console=self.console, show_path=False, show_time=True)
        serve_log = logging.getLogger("textual-serve")
        serve_log.setLevel(logging.WARNING)
        serve_log.addHandler(handler)
        serve_log.propagate = False

    async def on_startup(self, app: web.Application) -> None:
        self.console.print(f"serving the game on http://{self.host}:{self.port}/ (Ctrl-C stops)")

    async def on_shutdown(self, app: web.Application) -> None:
        """Close every connection: each handler then asks its game to quit (and kills it if it must)."""
        for websocket in list(self.games):
            await websocket.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=MAX_MESSAGE_BYTES)
        await websocket.prepare(request)
        if len(self.games) >= self.max_games:
            self.refused += 1
            log.warning("refused a connection: %d games are running (--max-games)", len(self.games))
            await websocket.send_bytes(FULL_MESSAGE.encode("utf-8"))
            await websocket.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"full")
            return websocket
        width, height = clamp_size(request.query.get("width"), request.query.get("height"))

        async def close() -> None:
            await websocket.close()

        game = GameProcess(
            self.command,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=close,
            download_manager=self.download_manager,
            debug=self.debug,
        )
        self.games[websocket] = game
        self.started += 1
        try:
            await game.start(width, height)
            await self._relay(websocket, game)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception:
            log.exception("a game connection failed")
        finally:
            await self._end(game)
            self.games.pop(websocket, None)
        return websocket

    async def _end(self, game: GameProcess) -> None:
        """Ask the game to quit (it commits nothing half-done: every turn is committed whole);
        kill it if it has not exited within :data:`QUIT_TIMEOUT_S`."""
        try:
            await asyncio.wait_for(asyncio.shield(game.stop()), QUIT_TIMEOUT_S)
            await asyncio.wait_for(game.wait(), QUIT_TIMEOUT_S)
        except (TimeoutError, asyncio.CancelledError):
            log.warning("game process %s did not quit in %.0f s; killed", game.pid, QUIT_TIMEOUT_S)
            game.kill()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(game.stop(), QUIT_TIMEOUT_S)
                await asyncio.wait_for(game.wait(), QUIT_TIMEOUT_S)

    async def _relay(self, websocket: web.WebSocketResponse, game: GameProcess) -> None:
        """The browser's messages to the game: keystrokes, sizes (clamped), focus; pings answered."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            envelope = _envelope(message.data)
            if envelope is None:
                continue
            kind, data = envelope
            if kind == "stdin" and isinstance(data, str):
                await game.send_bytes(data.encode("utf-8", "replace"))
            elif kind == "resize" and isinstance(data, dict):
                await game.set_terminal_size(*clamp_size(data.get("width"), data.get("height")))
            elif kind == "ping":
                await websocket.send_json(["pong", data])
            elif kind == "blur":
                await game.blur()
            elif kind == "focus":
                await game.focus()


def _envelope(text: str) -> tuple[str, Any] | None:
    """``[kind, data]`` from a browser message, None for anything else."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, list) or not value or not isinstance(value[0], str):
        return None
    return value[0], value[1] if len(value) > 1 else None
