"""One OpenAI-compatible model server shared by every game process of ``sharehouse serve``.

Each browser connection runs its own game process; if each loaded the GGUF model itself, five
participants would hold five copies of it and fight over two cores. Instead ``serve`` starts
llama-cpp-python's own server (``python -m llama_cpp.server``) once, on the packaged local model
(``local``, ``local:small``) or any GGUF file, bound to 127.0.0.1, and the games reach it through
the litellm backend as ``openai/<alias>``. A server that is already running (``--api-base``, e.g.
vLLM) is used as it is: nothing is started, and the model it serves is asked for when the spec
does not name one.

The server runs without its prompt cache (``--cache``): that cache keeps, with every saved state, a
copy of the logits buffer that its size limit does not count. Five games on ``local:small`` grew
the server to 17.6 GB under a 1 GiB limit (bench/RESULTS.md, "Serve").
"""

from __future__ import annotations

import ctypes
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO

from pydantic import BaseModel, ConfigDict

from sharehouse.llm.endpoints import load_router_config, parse_api_base
from sharehouse.llm.local import default_threads
from sharehouse.llm.registry import ModelConfig, local_model_path, parse_spec

#: The address the model server binds: never reachable from the network.
LOOPBACK = "127.0.0.1"
#: The name the local model is served under (the games ask for ``openai/<alias>``).
DEFAULT_ALIAS = "sharehouse-local"
#: How long the model may take to load before ``serve`` gives up.
STARTUP_TIMEOUT_S = 300.0
#: llama.cpp's prompt batch, as in :class:`sharehouse.llm.local.LocalModel`.
N_BATCH = 256
#: Seconds to wait for the server to exit after SIGTERM before it is killed.
STOP_TIMEOUT_S = 10.0
#: Ports tried when the server picks its own: a port found free can be taken by another process
#: before the server binds it (the server then exits with "address already in use").
PORT_ATTEMPTS = 3


#: Linux ``prctl`` option: the signal a process gets when the thread that started it ends.
PR_SET_PDEATHSIG = 1


def _end_with_parent() -> None:
    """In the child, before the server starts (Linux): SIGTERM when the parent ends, even by
    SIGKILL, so a killed ``serve`` leaves no model server holding memory and a port."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class ModelServerError(RuntimeError):
    """The model server could not be started or reached."""


class _PortTaken(ModelServerError):
    """The server exited because its port was taken between choosing it and binding it."""


class Endpoint(BaseModel):
    """Where the games find the model: the API base and the litellm model string to ask for."""

    model_config = ConfigDict(frozen=True)

    api_base: str
    litellm_model: str


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port that is free on ``host`` now."""
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def gguf_for(spec: str) -> Path:
    """The GGUF file of a local model spec (``local``, ``local:small``, ``local:/x.gguf``, ``/x.gguf``),
    assembled from the packaged parts on first use. A litellm spec is a ``ValueError``."""
    cfg = parse_spec(spec)
    if cfg.backend != "local" or cfg.batched:
        raise ValueError(
            f"model spec {spec!r}: serve runs a local GGUF model (local, local:small, a .gguf path); "
            "for another server give --api-base"
        )
    return local_model_path(cfg)


def served_models(api_base: str, *, timeout_s: float = 5.0) -> list[str]:
    """The model ids an OpenAI-compatible server lists at ``<api_base>/models``."""
    url = api_base.rstrip("/") + "/models"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            payload = json.loads(response.read().decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelServerError(f"no OpenAI-compatible server answers at {url}: {exc}") from exc
    try:
        return [str(item["id"]) for item in payload["data"]]
    except (KeyError, TypeError) as exc:
        raise ModelServerError(f"{url} did not list models (no data[].id in its answer)") from exc


def remote_endpoint(api_base: str, model: str) -> Endpoint:
    """Servers that already run (one URL, several, or a litellm Router config file: see
    :mod:`sharehouse.llm.endpoints`): a litellm spec (``openai/NAME``, or a config's ``model_name``)
    is used as given; a local spec (the default ``local``) means "the one model the servers list",
    the same on every URL."""
    if parse_spec(model, api_base=api_base).backend == "litellm":
        return Endpoint(api_base=api_base, litellm_model=model)
    api = parse_api_base(api_base)
    if api.config is not None:
        names = ", ".join(load_router_config(api.config).model_names)
        raise ModelServerError(f"with the Router config file {api.config}, give --model as one of: {names}")
    served = {url: served_models(url) for url in api.urls}
    for url, ids in served.items():
        if len(ids) != 1:
            listed = ", ".join(ids) or "none"
            raise ModelServerError(
                f"{url} serves {len(ids)} models ({listed}); choose one with --model openai/NAME"
            )
    served_names = {ids[0] for ids in served.values()}
    if len(served_names) > 1:
        raise ModelServerError(
            f"the servers list different models ({', '.join(sorted(served_names))}); choose one with --model openai/NAME"
        )
    return Endpoint(api_base=api_base, litellm_model=f"openai/{served_names.pop()}")


class ModelServer:
    """llama-cpp-python's OpenAI-compatible server on one GGUF file, as a child process.

    :meth:`start` returns once ``/v1/models`` answers; a server that exits first, or does not
    answer within ``startup_timeout_s``, raises :class:`ModelServerError` naming its log file.
    :meth:`stop` (also on leaving the ``with`` block) terminates it, then kills it if it lingers.
    On Linux it also ends when the thread that started it ends (start it from the main thread).
    """

    def __init__(
        self,
        gguf: Path,
        *,
        log_path: Path,
        alias: str = DEFAULT_ALIAS,
        host: str = LOOPBACK,
        port: int | None = None,
        n_ctx: int | None = None,
        n_threads: int | None = None,
        startup_timeout_s: float = STARTUP_TIMEOUT_S,
    ) -> None:
        self.gguf = gguf
        self.log_path = log_path
        self.alias = alias
        self.host = host
        self._own_port = port is None  # chosen here: another one is tried if it is taken
        self.port = port or free_port(host)
        self.n_ctx = n_ctx or int(ModelConfig.model_fields["n_ctx"].default)
        self.n_threads = n_threads or default_threads()
        self.startup_timeout_s = startup_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint(api_base=self.base_url + "/v1", litellm_model=f"openai/{self.alias}")

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def command(self) -> list[str]:
        threads = str(self.n_threads)
        return [
            sys.executable, "-m", "llama_cpp.server", "--model", str(self.gguf),
            "--model_alias", self.alias, "--host", self.host, "--port", str(self.port),
            "--n_ctx", str(self.n_ctx), "--n_batch", str(N_BATCH),
            "--n_threads", threads, "--n_threads_batch", threads,
            # The server keeps logits for every position by default (for logprobs, which the games
            # never ask for): a buffer of n_ctx x vocabulary floats, 2.5 GB for these models.
            "--logits_all", "false",
            # By default the server ends a streamed completion early ("[DONE]") as soon as another
            # request waits: one game's housemate line would be cut short by another game's turn.
            "--interrupt_requests", "false",
        ]  # fmt: skip

    def start(self) -> Endpoint:
        """Start the server and return once it answers; with a port of its own choosing, a port
        taken before the server bound it is replaced by another (up to :data:`PORT_ATTEMPTS`)."""
        if not self.gguf.is_file():
            raise ModelServerError(f"no GGUF model file at {self.gguf}")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, PORT_ATTEMPTS + 1):
            self._log = self.log_path.open("wb")
            self._proc = subprocess.Popen(
                self.command(), stdout=self._log, stderr=subprocess.STDOUT, preexec_fn=_end_with_parent
            )
            try:
                self._wait_ready()
                return self.endpoint
            except _PortTaken:
                self.stop()
                if not self._own_port or attempt == PORT_ATTEMPTS:
                    raise
                self.port = free_port(self.host)
            except BaseException:
                self.stop()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _answers(self) -> bool:
        """The server answers and lists this server's alias (not another program on the port)."""
        try:
            return self.alias in served_models(self.endpoint.api_base, timeout_s=2)
        except ModelServerError:
            return False

    def _wait_ready(self) -> None:
        assert self._proc is not None
        url = self.base_url + "/v1/models"
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                if self._log is not None:
                    self._log.flush()
                said = self.log_path.read_text(encoding="utf-8", errors="replace").lower()
                if "address already in use" in said:
                    raise _PortTaken(
                        f"port {self.port} on {self.host} was taken before the model server bound it; "
                        f"see its log {self.log_path}"
                    )
                raise ModelServerError(
                    f"the model server exited with code {code} while loading {self.gguf.name}; "
                    f"see its log {self.log_path}"
                )
            if self._answers() and self._proc.poll() is None:
                return
            time.sleep(0.25)
        raise ModelServerError(
            f"the model server did not answer at {url} within {self.startup_timeout_s:.0f} s; "
            f"see its log {self.log_path}"
        )

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> ModelServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
