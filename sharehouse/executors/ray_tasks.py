"""Streaming Ray tasks: what ``--executor ray`` shares between ``simulate`` and ``evaluate``.

A task is a generator function run on a Ray worker. :func:`worker_stream` runs the task's async
work on an event loop of the worker's own and yields every message the work sends; the driver
reads the messages in order with :func:`stream` and handles each one (commits it to the store)
before it reads the next. Ray lets a worker yield at most :data:`STREAM_AHEAD` message that the
driver has not taken, and the worker's event loop runs only while the worker waits for its next
message, so the work never gets more than a message or two ahead of what the driver has stored.

A worker that dies (killed, out of memory, its node lost) ends the stream with
:class:`WorkerLost` once the messages it delivered have been read; the caller submits the work
again, and it resumes from what the driver stored. Ray itself never retries these tasks: a
retried generator would send its messages again.

:func:`ray_cluster` connects to a running cluster (``--ray-address``) or starts a local one for
one run, and shuts it down when the run ends, on an error or Ctrl-C too.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)

#: Messages a worker may yield before the driver has taken the previous ones (Ray's generator
#: backpressure). At one, a worker stays within a message of what the driver has committed: a
#: killed worker loses no more than the turn it was playing, and the driver's memory holds one
#: message per running task. It costs about 2 ms per message on a loaded 2-core machine
#: (0.6 ms unbounded), against seconds of model time per turn.
STREAM_AHEAD = 1
#: How long the first contact with a cluster's head (``--ray-address HOST:PORT``) may take. Ray's
#: own connection retries for minutes before it gives up on an address nothing listens at.
CONNECT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class WorkerReady:
    """The first message of every task: the worker that runs it."""

    node: str  # the node's IP address
    pid: int

    @property
    def name(self) -> str:
        return f"{self.node}:{self.pid}"


class WorkerLost(RuntimeError):
    """The worker running a task died before the task ended."""


def require_ray() -> ModuleType:
    """The ``ray`` module, or a ``ValueError`` telling how to install it."""
    try:
        import ray
    except ImportError:
        raise ValueError("--executor ray needs Ray: pip install 'sharehouse[scale]'") from None
    return ray


def _lost_worker_errors(ray: ModuleType) -> tuple[type[BaseException], ...]:
    """The Ray errors that mean a task's worker died, not that the task raised."""
    e = ray.exceptions
    return (e.WorkerCrashedError, e.NodeDiedError, e.ObjectLostError, e.OutOfMemoryError)


@asynccontextmanager
async def ray_cluster(address: str | None, cpus: int) -> AsyncIterator[None]:
    """Ray for one run: the cluster at ``address`` (``auto``: the one ``ray start`` runs on this
    machine), or, without one, a new local cluster of ``cpus`` logical CPUs. Ray is shut
    down when the run ends, however it ends (a local cluster is stopped; a remote one keeps
    running). A process that runs Ray already (a notebook, a test) keeps it as it is."""
    ray = require_ray()
    if ray.is_initialized():
        yield
        return
    # Workers log to files under the session directory (/tmp/ray/session_latest/logs), not here:
    # their lines would tear the progress display.
    quiet: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.ERROR,
    }
    try:
        if address:
            _reach(address)
            ray.init(address=address, **quiet)
        else:  # "local": a new cluster, whatever RAY_ADDRESS or an earlier `ray start` left behind
            ray.init(address="local", num_cpus=cpus, **quiet)
    except (ConnectionError, RuntimeError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
        raise ValueError(f"cannot start or reach {where}: {exc}") from exc
    log.info("ray: %s", f"connected to {address}" if address else f"local cluster of {cpus} CPUs")
    try:
        yield
    finally:
        ray.shutdown()


def _reach(address: str) -> None:
    """Raise ``ConnectionError`` when nothing answers at a ``HOST:PORT`` address within
    :data:`CONNECT_TIMEOUT_S` (``auto`` and ``ray://`` addresses are left to Ray)."""
    host, sep, port = address.rpartition(":")
    if not sep or "://" in address or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise ConnectionError(f"nothing answers at {address} ({exc})") from exc


Work = Callable[[Callable[[object], None]], Awaitable[None]]


def worker_stream(work: Work) -> Iterator[object]:
    """On a worker: :class:`WorkerReady`, then every message ``work(send)`` sends, as it sends it.
    The work runs on an event loop that turns only while this generator is asked for a message."""
    ray = require_ray()
    yield WorkerReady(node=ray.util.get_node_ip_address(), pid=os.getpid())
    loop = asyncio.new_event_loop()
    outbox: asyncio.Queue[object] = asyncio.Queue()
    end = object()

    async def run() -> None:
        try:
            await work(outbox.put_nowait)
        finally:
            outbox.put_nowait(end)

    task = loop.create_task(run())
    try:
        while (message := loop.run_until_complete(outbox.get())) is not end:
            yield message
        loop.run_until_complete(task)  # the work's own error, if it raised one, fails the task
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        if not task.done():  # the driver went away: stop the work
            task.cancel()
            loop.run_until_complete(asyncio.gather(task, return_exceptions=True))
        loop.close()


async def stream(
    task: Callable[[Any], Iterator[object]],
    job: Any,
    *,
    cpus: float,
    env: Mapping[str, str] | None = None,
) -> AsyncGenerator[object, None]:
    """On the driver: run the generator function ``task(job)`` as a Ray task of ``cpus`` CPUs (and
    environment variables ``env``) and yield its messages in order. A lost worker raises
    :class:`WorkerLost` after the messages it delivered; leaving the loop early (an error, Ctrl-C)
    cancels the task. Use it under :func:`contextlib.aclosing`."""
    ray = require_ray()
    lost = _lost_worker_errors(ray)
    options: dict[str, Any] = {
        "num_cpus": cpus, "max_retries": 0, "_generator_backpressure_num_objects": STREAM_AHEAD,
    }  # fmt: skip
    if env:
        options["runtime_env"] = {"env_vars": dict(env)}
    refs = ray.remote(task).options(**options).remote(job)
    over = False  # the task has ended (or its worker is gone): nothing to cancel
    try:
        async for ref in refs:
            yield await ref
        over = True
    except lost as exc:
        over = True
        raise WorkerLost(f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from exc
    except ray.exceptions.RayError:  # the task raised: it is over
        over = True
        raise
    finally:
        if not over:
            ray.cancel(refs, force=True)
