"""Where the work of ``simulate`` and ``evaluate`` runs: the executors.

``inline`` (the default) plays every session, and fits every user's trained method, in this
process. ``ray`` makes each persona session (simulate) and each user's trained-method fit and
predictions (evaluate) a Ray task with its own model; what a task produces streams back to this
process, which owns the DuckDB store and commits it as the inline run does (see
:mod:`sharehouse.executors.ray_tasks` and docs/scaling.md, "Ray").
"""

from __future__ import annotations

from typing import Literal, get_args

Executor = Literal["inline", "ray"]
EXECUTORS: tuple[str, ...] = get_args(Executor)
DEFAULT_EXECUTOR: Executor = "inline"


def check_executor(executor: str, ray_address: str | None) -> None:
    """Raise ``ValueError`` on an unknown executor, or a Ray address given without ``ray``."""
    if executor not in EXECUTORS:
        raise ValueError(f"--executor {executor!r}: expected one of {', '.join(EXECUTORS)}")
    if ray_address is not None and executor != "ray":
        raise ValueError("--ray-address needs --executor ray")
