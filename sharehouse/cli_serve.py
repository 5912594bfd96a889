"""``sharehouse serve``: the game in participants' browsers, every game on one model server."""

from __future__ import annotations

import contextlib
import ipaddress
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from sharehouse.cli_common import ApiBaseOpt, DbOpt, api_base_option, fail, print_error
from sharehouse.consoles import err_console
from sharehouse.llm.models import ModelNotInstalledError
from sharehouse.serving.model_server import (
    LOOPBACK,
    Endpoint,
    ModelServer,
    ModelServerError,
    gguf_for,
    remote_endpoint,
)
from sharehouse.serving.web import DEFAULT_MAX_GAMES, GameServer, game_argv, shell_command
from sharehouse.store import Store, StoreError
from sharehouse.store.db import default_db_path
from sharehouse.study.config import StudyError, load_study


def serve_command(
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="Address to listen on. The default is this machine only; 0.0.0.0 (or any address that is "
            "not loopback) makes the game reachable from the network.",
        ),
    ] = LOOPBACK,
    port: Annotated[int, typer.Option("--port", help="Port of the web page.")] = 8000,
    db: DbOpt = None,
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="The model every game shares: local, local:small or a .gguf path, run by llama-cpp-python's "
            "server on 127.0.0.1; with --api-base, the servers' model (openai/NAME, or a model_name of a Router "
            "config file; default: the one model the servers list).",
        ),
    ] = "local",
    api_base: ApiBaseOpt = None,
    study: Annotated[
        Path | None, typer.Option("--study", help="Study file (instruments asked before and after the game).")
    ] = None,
    max_games: Annotated[
        int,
        typer.Option("--max-games", min=1, help="Games running at once; more connections are turned away."),
    ] = DEFAULT_MAX_GAMES,
) -> None:
    """Serve the game to web browsers: every connection is one participant, in participant mode."""
    err = err_console()
    endpoints = api_base_option(api_base)
    db_path = (db or default_db_path()).expanduser().resolve()
    study_path = study.expanduser().resolve() if study is not None else None
    if study_path is not None:
        try:
            load_study(study_path)  # the games read it again; a bad file is reported here, once
        except StudyError as exc:
            fail(str(exc), 2)
    _check_port_free(host, port)
    try:
        Store(db_path, shared=True).close()  # create or migrate the file before any game opens it
    except StoreError as exc:
        fail(str(exc), 2)
    if not is_loopback(host):
        print_error(
            f"--host {host}: the game is reachable from the network on port {port}; anyone who can "
            "reach this machine can open it and play as a participant.",
            label="warning",
        )
    with _terminate_as_exit(), contextlib.ExitStack() as stack:
        endpoint = stack.enter_context(_model(model, endpoints, db_path))
        argv = game_argv(db=db_path, endpoint=endpoint, study=study_path)
        err.print(f"store: {db_path}", highlight=False, markup=False)
        server = GameServer(shell_command(argv), host=host, port=port, max_games=max_games, console=err)
        server.serve()
        refused = f", turned away: {server.refused} (--max-games)" if server.refused else ""
        err.print(f"stopped; games played: {server.started}{refused}.", highlight=False)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_port_free(host: str, port: int) -> None:
    """Fail now, before the model loads, if the page's address cannot be bound."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", 2)


@contextlib.contextmanager
def _model(model: str, api_base: str | None, db_path: Path) -> Iterator[Endpoint]:
    """The games' model: the given ``--api-base`` as it is, else llama-cpp-python's server on the
    local GGUF for as long as the block runs."""
    err = err_console()
    if api_base is not None:
        try:
            endpoint = remote_endpoint(api_base, model)
        except (ValueError, ModelServerError) as exc:
            fail(f"--api-base: {exc}", 2)
        err.print(f"model: {endpoint.litellm_model} at {endpoint.api_base}", highlight=False, markup=False)
        yield endpoint
        return
    try:
        gguf = gguf_for(model)
    except (ValueError, ModelNotInstalledError) as exc:
        fail(f"--model: {exc}", 2)
    log_path = db_path.with_suffix(".model-server.log")
    server = ModelServer(gguf, log_path=log_path)
    err.print(
        f"model: loading {gguf.name} in llama-cpp-python's server (log: {log_path}) ...", highlight=False
    )
    try:
        endpoint = server.start()
    except ModelServerError as exc:
        fail(str(exc), 1)
    err.print(
        f"model: {endpoint.litellm_model} at {endpoint.api_base} (pid {server.pid})",
        highlight=False,
        markup=False,
    )
    try:
        yield endpoint
    finally:
        server.stop()
        err.print("model server stopped.", highlight=False)


@contextlib.contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """SIGTERM ends the command like Ctrl-C does, so the model server is stopped on the way out
    (while the web server runs, textual-serve handles both signals itself)."""

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
