"""API keys come only from the environment, are sent only to the configured server, and are never
written anywhere: not in the database, not in logs or console output, not in any export. During a
run no connection leaves the machine."""

from __future__ import annotations

import io
import json
import logging
import socket
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import pytest
from faultserver import FaultConfig, FaultServer
from rich.console import Console

from sharehouse.cli_simulate import run_simulate_cli
from sharehouse.io import export_sessions
from sharehouse.llm.remote import redact_secrets
from sharehouse.simulate import SimulateOptions
from sharehouse.store import Store
from sharehouse.views import render_transcript

PLANTED = "sk-test-PLANTED-7f3a9c1e5b2d4680"


class _Connections:
    """Every (host, port) this process resolves or connects to during the test."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, object]] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex
        real_getaddrinfo = socket.getaddrinfo

        def record(address: Any) -> None:
            if isinstance(address, tuple):
                self.seen.append((str(address[0]), address[1]))

        def connect(sock: socket.socket, address: Any) -> Any:
            record(address)
            return real_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> Any:
            record(address)
            return real_connect_ex(sock, address)

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host is not None:
                self.seen.append((host.decode() if isinstance(host, bytes) else str(host), port))
            return real_getaddrinfo(host, port, *args, **kwargs)

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    @property
    def hosts(self) -> list[str]:
        return [h for h, _ in self.seen]

    def outside(self, api_base: str) -> list[tuple[str, object]]:
        """Every address that is not the configured endpoint's host and port."""
        return _not_the_endpoint(self.seen, api_base)


def _not_the_endpoint(seen: Iterable[tuple[str, object]], api_base: str) -> list[tuple[str, object]]:
    url = urlsplit(api_base)
    endpoint = (url.hostname, url.port)
    return [(h, p) for h, p in seen if (h, int(p) if str(p).isdigit() else p) != endpoint]


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
    # No connection went anywhere but the configured endpoint (its host and its port).
    assert conns.hosts, "the connection recorder saw nothing"
    assert conns.outside(srv.api_base) == []


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


# -- evaluate, score and report ---------------------------------------------------------------------
#: planted in the environment: the key litellm uses for openai/…, and others a user may have set
KEYS = {
    "OPENAI_API_KEY": PLANTED,
    "ANTHROPIC_API_KEY": "sk-ant-PLANTED2-0c9d8e7f6a5b4c3d",
    "HF_TOKEN": "hf_PLANTED3aBcDeFgHiJkLmNoPqRsTu",
}
NEEDLES = [*KEYS.values(), "PLANTED"]


def _text_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main' ORDER BY table_name, column_name"
    ).fetchall()
    return [
        (t, c)
        for t, c, ty in rows
        if ty.upper().startswith(("VARCHAR", "JSON", "TEXT")) or ty.upper() == "VARCHAR[]"
    ]


def _scan_database(db: Path) -> tuple[list[str], dict[str, int]]:
    """Every table.column (text, JSON and text lists) whose values hold a needle, and how many
    non-empty values each table's text columns held (so that the scan is known to have read them)."""
    con = duckdb.connect(str(db), read_only=True)
    hits: list[str] = []
    values: dict[str, int] = {}
    try:
        for table, column in _text_columns(con):
            text = f'CAST("{column}" AS VARCHAR)'
            (n,) = con.execute(
                f'SELECT count(*) FROM "{table}" WHERE "{column}" IS NOT NULL AND {text} <> \'\''
            ).fetchone()
            values[table] = values.get(table, 0) + int(n)
            for needle in NEEDLES:
                (found,) = con.execute(
                    f'SELECT count(*) FROM "{table}" WHERE strpos({text}, ?) > 0', [needle]
                ).fetchone()
                if found:
                    hits.append(f"{table}.{column} ({needle})")
    finally:
        con.close()
    return hits, values


def _raw_hits(paths: Iterable[Path]) -> list[str]:
    return [f"{p} ({n})" for p in paths for n in NEEDLES if n.encode() in p.read_bytes()]


async def test_planted_keys_never_reach_evaluate_score_or_report(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    yntp_dir: Path,
) -> None:
    import shutil

    from typer.testing import CliRunner

    from evaluator.metrics.encoders import USEM3
    from evaluator.progress_bars import EvalProgressBars
    from evaluator.request import EvalOptions
    from evaluator.runner import EvalParams, run_evaluation_async
    from evaluator.scoring import MetricOptions
    from evaluator.task import build_tasks
    from sharehouse.cli import _build
    from sharehouse.io import import_yntp
    from sharehouse.store.evaluation import load_predictions, load_user_status

    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    conns = _Connections()
    conns.install(monkeypatch)
    data = tmp_path / "data"
    for rel in ("en/en_1.json", "jp/jp_1.json"):
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(yntp_dir / rel, data / rel)
    db = tmp_path / "eval.duckdb"
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=False)
    options = MetricOptions(sentence_encoder=USEM3, history_encoder=USEM3)  # one encoder: a shorter test
    # The first answer is a 401 quoting the key: that user fails, with the error stored.
    with FaultServer(FaultConfig(script=["401"], lifetime_s=300)) as srv, Store(db) as store:
        assert import_yntp(store, data).ok
        tasks, _ = build_tasks(store, source="yntp100", max_tests=2)
        params = EvalParams(api_base=srv.api_base, max_tokens=40, metric_options=options)
        for attempt in range(2):
            with EvalProgressBars(console) as bars:  # the live display must not show the key either
                run = await run_evaluation_async(
                    store, tasks,
                    EvalOptions(methods=["zero-shot", "few-shot+style"], models=["openai/fake"], params=params,
                                concurrency=1, run_id="ev-secret"),
                    on_event=bars,
                )  # fmt: skip
            if attempt == 0:
                failed = [u for u in load_user_status(store, run) if u.status == "failed"]
                assert failed and all("[redacted]" in (u.error or "") for u in failed), failed
        assert store.get_run(run)["status"] == "complete"
        preds = load_predictions(store, run)
        assert len(preds) == 8
        cached = store.fetchone("SELECT count(*) FROM llm_cache")[0]
        assert cached > 0  # the cache was written, and is scanned below
        posts = [r for r in srv.requests if r.method == "POST"]
    assert posts and all(r.headers.get("authorization") == f"Bearer {PLANTED}" for r in posts)

    pred_file = tmp_path / "pred.jsonl"
    pred_file.write_text(
        "".join(
            json.dumps(
                {
                    "user": p.user_id,
                    "language": p.language,
                    "message": p.message,
                    "reference": p.reference,
                    "prediction": p.prediction,
                },
                ensure_ascii=False,
            )
            + "\n"
            for p in preds
        ),  # fmt: skip
        encoding="utf-8",
    )
    cli = CliRunner()
    scores = tmp_path / "scores" / "pred.scores.jsonl"
    scored = cli.invoke(
        _build(),
        ["score", str(pred_file), "--out", str(scores), "--m2-encoder", USEM3, "--m6-encoder", USEM3],
    )
    assert scored.exit_code == 0, scored.output
    report_dir = tmp_path / "report"
    reported = cli.invoke(_build(), ["report", "eval", run, "--out", str(report_dir), "--db", str(db)])
    assert reported.exit_code == 0, reported.output
    written = {p.suffix for p in _files_under(report_dir)}
    assert {".csv", ".md", ".tex", ".svg", ".png", ".json"} <= written, written

    # The raw bytes of every file written: the database (and any WAL), scores, report files.
    files = [p for p in tmp_path.iterdir() if p.name.startswith("eval.duckdb")] + _files_under(scores.parent)
    files += _files_under(report_dir)
    assert _raw_hits(files) == []
    # Compressed or dictionary-encoded strings may not show in raw bytes: read every text value too.
    hits, values = _scan_database(db)
    assert hits == []
    # ... and the scan does see a key where one is (on a copy, in a compressed cache row).
    copy = tmp_path / "copy.duckdb"
    shutil.copy(db, copy)
    con = duckdb.connect(str(copy))
    con.execute(
        "UPDATE llm_cache SET text = text || ? WHERE key = (SELECT min(key) FROM llm_cache)", [PLANTED]
    )
    con.close()
    assert f"llm_cache.text ({PLANTED})" in _scan_database(copy)[0]
    for table in ("runs", "eval_predictions", "eval_users", "eval_scores", "llm_cache", "sessions", "turns"):
        assert values.get(table, 0) > 0, f"the scan read nothing from {table}"
    for text in (out.getvalue(), caplog.text, scored.output, reported.output):
        for needle in NEEDLES:
            assert needle not in text
    assert conns.hosts and conns.outside(srv.api_base) == []


def test_commands_talk_only_to_the_configured_endpoint(tmp_path: Path, yntp_dir: Path) -> None:
    """``simulate`` and ``evaluate`` as commands, with keys planted and none of the offline switches
    set in their environment (litellm's cost map, the Hugging Face hub): every address they
    resolve or connect to is the configured endpoint's host and port."""
    import shutil

    from faultserver import cli_env, read_net_log, recording_argv

    db = tmp_path / "net.duckdb"
    data = tmp_path / "data" / "en"
    data.mkdir(parents=True)
    shutil.copy(yntp_dir / "en" / "en_1.json", data / "en_1.json")
    with Store(db) as store:
        from sharehouse.io import import_yntp

        assert import_yntp(store, data.parent).ok
    log = tmp_path / "net.log"
    env = cli_env(SHAREHOUSE_TEST_NET_LOG=str(log), **KEYS)
    for switch in (
        "LITELLM_LOCAL_MODEL_COST_MAP",
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "HF_DATASETS_OFFLINE",
    ):
        env.pop(switch, None)
    with FaultServer(FaultConfig(lifetime_s=200)) as srv:
        commands = {
            "simulate": ["simulate", "--db", str(db), "--model", "openai/fake", "--api-base", srv.api_base,
                         "--run", "net", "--personas", "2", "--days", "1", "--no-progress"],
            "evaluate": ["evaluate", "--db", str(db), "--methods", "zero-shot", "--models", "openai/fake",
                         "--api-base", srv.api_base, "--limit-turns", "2", "--no-score", "--no-progress"],
        }  # fmt: skip
        for name, args in commands.items():
            log.unlink(missing_ok=True)
            before = srv.total
            done = subprocess.run(recording_argv(*args), env=env, capture_output=True, text=True, timeout=240)
            assert done.returncode == 0, f"{name}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
            seen = [(host, port) for _, host, port in read_net_log(log)]
            assert srv.total > before and seen, f"{name} did not talk to the endpoint"
            assert _not_the_endpoint(seen, srv.api_base) == [], f"{name} reached elsewhere"
            for needle in NEEDLES:
                assert needle not in done.stdout + done.stderr
        # Another port on this machine, or the same port by another name, is not the endpoint.
        assert (
            len(_not_the_endpoint([("127.0.0.1", srv.port + 1), ("localhost", srv.port)], srv.api_base)) == 2
        )
        posts = [r for r in srv.requests if r.method == "POST"]
    assert all(r.headers.get("authorization") == f"Bearer {PLANTED}" for r in posts)
    assert _raw_hits([p for p in tmp_path.iterdir() if p.name.startswith("net.duckdb")]) == []
    assert _scan_database(db)[0] == []
