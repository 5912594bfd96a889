"""The model server's port: one it chose and found taken before it bound it is replaced by another;
one it was given and found taken is an error that says so. Real llama-cpp-python servers on
127.0.0.1 with the packaged small model; the "taken" port is held by a listening socket."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from sharehouse.llm.models import ensure_model
from sharehouse.serving import model_server
from sharehouse.serving.model_server import LOOPBACK, ModelServer, ModelServerError, served_models


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port on 127.0.0.1 that another program listens on (and answers nothing)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.mark.model
def test_a_chosen_port_taken_before_the_server_binds_it_is_replaced(
    tmp_path: Path, held_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_free_port = model_server.free_port
    offered: list[int] = []

    def taken_first(host: str = LOOPBACK) -> int:
        offered.append(held_port if not offered else real_free_port(host))
        return offered[-1]

    monkeypatch.setattr(model_server, "free_port", taken_first)
    log = tmp_path / "server.log"
    with ModelServer(
        ensure_model("small"), alias="house-small", n_ctx=512, n_threads=1, log_path=log
    ) as server:
        assert offered[0] == held_port and server.port == offered[1] != held_port
        assert served_models(server.endpoint.api_base) == ["house-small"]


@pytest.mark.model
def test_a_given_port_that_is_taken_fails_and_says_so(tmp_path: Path, held_port: int) -> None:
    log = tmp_path / "server.log"
    server = ModelServer(
        ensure_model("small"), alias="house-small", port=held_port, n_ctx=512, n_threads=1, log_path=log
    )
    with pytest.raises(ModelServerError, match=f"port {held_port} .* was taken"):
        server.start()
    assert server.pid is None  # nothing left running
