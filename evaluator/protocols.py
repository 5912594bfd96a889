"""Evaluation protocols: which prompts, generation settings and context a run uses.

- ``sharehouse`` (the default): the project's own prompts. Replies get 160 tokens at top-p 0.95,
  and each day-5 request shows the earlier day-5 turns (with the person's real replies) as the
  live chat would. Its improved variants carry their own names (``few-shot+style`` …).
- ``paper``: the YNTP-100 paper's Appendix E. The prompts follow its structure (a short share-house
  system prompt, then the demonstrations and the message in the user turn), replies get 512
  tokens at temperature 0.7 and top-p 1.0, the inference steps 512 tokens at temperature 0.6, and
  no earlier day-5 turn is shown. ``few-shot``, ``few-shot-mbti`` and ``cot`` are its plain methods.

A method declares the protocols it belongs to (``protocols``; absent = both). A run records its
protocol in the config; a run is never continued under another protocol (:func:`check_resume`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

ProtocolName = Literal["sharehouse", "paper"]
SHAREHOUSE: ProtocolName = "sharehouse"
PAPER: ProtocolName = "paper"
DEFAULT_PROTOCOL: ProtocolName = SHAREHOUSE
#: the models an evaluation runs on when none are named (CLI ``--models``, the setup screen)
DEFAULT_MODELS: tuple[str, ...] = ("local",)


class ProtocolSpec(BaseModel):
    """The settings a protocol fixes unless a run overrides them."""

    model_config = ConfigDict(frozen=True)

    name: ProtocolName
    description: str
    temperature: float
    max_tokens: int
    top_p: float
    # method options (``MethodContext.extra``) the protocol sets; a run's --option still wins
    extra: dict[str, Any]
    default_methods: tuple[str, ...]


PROTOCOLS: dict[str, ProtocolSpec] = {
    SHAREHOUSE: ProtocolSpec(
        name=SHAREHOUSE,
        description="the project's own prompts; 160 tokens, top-p 0.95; earlier day-5 turns shown",
        temperature=0.7,
        max_tokens=160,
        top_p=0.95,
        extra={},
        default_methods=("zero-shot", "few-shot+style"),
    ),
    PAPER: ProtocolSpec(
        name=PAPER,
        description="the paper's Appendix E: its prompt structure, 512 tokens, temperature 0.7, top-p 1.0; "
        "inference steps at 0.6; no earlier day-5 turn shown",
        temperature=0.7,
        max_tokens=512,
        top_p=1.0,
        extra={
            "context_turns": 0,
            "inference_max_tokens": 512,
            "inference_temperature": 0.6,
            "inference_top_p": 1.0,
        },
        default_methods=("zero-shot", "few-shot"),
    ),
}


def protocol_spec(name: str) -> ProtocolSpec:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ValueError(f"unknown protocol {name!r}; known: {', '.join(PROTOCOLS)}") from None


def method_extra(protocol: str, extra: Mapping[str, Any]) -> dict[str, Any]:
    """The method options a run under ``protocol`` uses: the protocol's, then the run's own."""
    return {**protocol_spec(protocol).extra, **extra}


def method_protocols(method: Any) -> tuple[str, ...]:
    """The protocols a method belongs to (a method that declares none belongs to every one)."""
    return tuple(method.protocols) or tuple(PROTOCOLS)


def check_method(name: str, method: Any, protocol: str) -> None:
    """Refuse a method that does not belong to ``protocol``, naming what to run instead."""
    belongs = method_protocols(method)
    if protocol in belongs:
        return
    from evaluator.methods import load_all

    instead = [
        other
        for other, factory in sorted(load_all().items())
        if protocol in method_protocols(factory()) and _stem(other) == _stem(name)
    ]
    hint = f"; under {protocol} run {' or '.join(instead)}" if instead else ""
    raise ValueError(
        f"{name} belongs to the {' and '.join(belongs)} protocol, not {protocol} "
        f"(--protocol {belongs[0]}){hint}"
    )


def _stem(name: str) -> str:
    return name.split("+", 1)[0]


def run_protocol(config: Mapping[str, Any] | None) -> str | None:
    """The protocol a stored run was made under: recorded, or ``sharehouse`` for a run evaluated
    before protocols existed; None for a run nothing was evaluated in yet (e.g. import only)."""
    cfg = dict(config or {})
    if cfg.get("protocol"):
        return str(cfg["protocol"])
    return SHAREHOUSE if cfg.get("params") else None


def check_resume(run_id: str, config: Mapping[str, Any] | None, protocol: str) -> None:
    """Refuse to continue a run under another protocol than it was made under (its predictions
    would mix two protocols under the same method names)."""
    recorded = run_protocol(config)
    if recorded is not None and recorded != protocol:
        raise ValueError(
            f"run {run_id} was made under the {recorded} protocol; continue it with --protocol "
            f"{recorded}, or start a new run for {protocol}"
        )
