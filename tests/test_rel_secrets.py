"""API keys come only from the environment, are sent only to the configured server, and are never
written anywhere: not in the database, not in logs or console output, not in any export. During a
run no connection leaves the machine."""

from __future__ import annotations

import io
import ipaddress
import logging
import socket
from pathlib import Path
from typing import Any

import pytest
from faultserver import FaultConfig, FaultServer
from rich.console import Console

from sharehouse.io import export_sessions
from sharehouse.llm.remote import redact_secrets
from sharehouse.simulate import SimulateOptions, run_simulate_cli
from sharehouse.store import Store
from sharehouse.views import render_transcript

PLANTED = "sk-test-PLANTED-7f3a9c1e5b2d4680"


class _Connections:
    """Every address this process resolves or connects to during the test."""

    def __init__(self) -> None:
        self.hosts: list[str] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex
        real_getaddrinfo = socket.getaddrinfo

        def record(address: Any) -> None:
            if isinstance(address, tuple):
                self.hosts.append(str(address[0]))

        def connect(sock: socket.socket, address: Any) -> Any:
            record(address)
            return real_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> Any:
            record(address)
            return real_connect_ex(sock, address)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            if host is not None:
                self.hosts.append(host.decode() if isinstance(host, bytes) else str(host))
            return real_getaddrinfo(host, *args, **kwargs)

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    def outside(self) -> list[str]:
        bad = []
        for host in self.hosts:
            if host == "localhost":
                continue
            try:
                if ipaddress.ip_address(host).is_loopback:
                    continue
            except ValueError:
                pass
            bad.append(host)
        return bad


def _files_under(path: Path) -> list[Path]:
    return [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]


async def test_planted_key_is_used_but_never_stored(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED)
    caplog.set_level(logging.DEBUG)
    conns = _Connections()
    conns.install(monkeypatch)
    db = tmp_path / "secret.duckdb"
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=False)
    # 401 answers quote the key back, as a careless server might; they come first, so the first
    # attempt of each session fails with an authentication error whose text holds the key.
    cfg = FaultConfig(
        rates={"429": 0.05, "500": 0.05}, script=["401"] * 3, retry_after_s=0.02, lifetime_s=200
    )
    with FaultServer(cfg) as srv:
        opts = SimulateOptions(
            n_personas=3, model="openai/fake", api_base=srv.api_base, concurrency=3, days=1, run_id="secret",
            progress=False, max_session_attempts=1,
        )  # fmt: skip
        with Store(db) as store:
            first = await run_simulate_cli(store, opts, console)
            failed = store.list_sessions(run_id="secret", status="failed")
            assert first == 1 and failed, out.getvalue()
            for rec in failed:
                assert rec.failure_reason and "AuthenticationError" in rec.failure_reason
                assert "[redacted]" in rec.failure_reason
                render_transcript(console, rec, store.load_turns(rec.id))
            second = await run_simulate_cli(store, opts, console)
            assert second == 0, out.getvalue()
            assert not store.list_sessions(run_id="secret", status="failed")
            exports = tmp_path / "exports"
            for fmt, target in (("yntp", "yntp"), ("jsonl", "all.jsonl"), ("parquet", "all.parquet")):
                export_sessions(store, exports / target, fmt)  # type: ignore[arg-type]
                export_sessions(store, exports / f"anon-{target}", fmt, anonymize=True, salt="s")  # type: ignore[arg-type]
        posts = [r for r in srv.requests if r.method == "POST"]
    # The key was used: every request carried it, to the configured server only.
    assert posts and all(r.headers.get("authorization") == f"Bearer {PLANTED}" for r in posts)
    assert all(PLANTED.encode() not in r.body for r in posts)
    # ... and it is nowhere else.
    needle = PLANTED.encode()
    checked = [p for p in tmp_path.iterdir() if p.name.startswith("secret.duckdb")]
    assert db in checked
    for path in checked + _files_under(exports):
        assert needle not in path.read_bytes(), f"the key leaked into {path}"
    assert len(_files_under(exports)) >= 6
    captured = capsys.readouterr()
    for text in (out.getvalue(), caplog.text, captured.out, captured.err):
        assert PLANTED not in text
        assert "PLANTED" not in text  # not even partly
    assert "Incorrect API key provided: [redacted]" in out.getvalue()
    # No connection went anywhere but this machine.
    assert conns.hosts, "the connection recorder saw nothing"
    assert conns.outside() == []


def test_redaction_of_keys_in_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_PROVIDER_API_KEY", "abcdefgh12345678")
    text = "bad key abcdefgh12345678 and sk-proj-ABCdef123456789 but sk-1 and the word skip-this stay"
    assert redact_secrets(text) == "bad key [redacted] and [redacted] but sk-1 and the word skip-this stay"


def test_model_config_never_holds_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from sharehouse.llm import ModelConfig, parse_spec

    monkeypatch.setenv("OPENAI_API_KEY", PLANTED)
    cfg = parse_spec("openai/gpt-4o-mini", api_base="http://127.0.0.1:9/v1")
    assert PLANTED not in cfg.model_dump_json()
    with pytest.raises(ValueError):
        ModelConfig(backend="litellm", model="openai/x", api_key=PLANTED)  # type: ignore[call-arg]
