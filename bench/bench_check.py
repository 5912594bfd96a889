"""The reply check on the labelled check set (tests/data/check_set.jsonl, built from the real YNTP-100
turns by scripts/build_check_set.py): false-accepts of each class of non-answer and false-rejects of
real answers, per language, for each model.

    SHAREHOUSE_THREADS=1 nice -n 5 python bench/bench_check.py --model local:small [--limit 3] [--no-write]
    python bench/bench_check.py --model none      # rules and the relevance gate alone; the rest accepted

``--no-gate`` leaves out the relevance gate (sharehouse/engine/relevance.py), to see the judge alone.
The gate compares each reply with the other days' messages of its conversation too
(tests/data/check_set_lines.json), as a session compares it with the script's other days.

``--limit N`` takes the first N items of every (language, label) cell: a stratified subset. Each model
gets its own RESULTS.md section.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: bench/ is a folder beside the package
    sys.path.insert(0, str(REPO))

from bench.common import load_average, markdown_table, publish  # noqa: E402
from sharehouse.engine.checks import CheckResult, judge_answer  # noqa: E402
from sharehouse.engine.relevance import RelevanceGate  # noqa: E402
from sharehouse.lang import LANGS, Lang  # noqa: E402
from sharehouse.llm.base import ChatModel  # noqa: E402

CHECK_SET = REPO / "tests" / "data" / "check_set.jsonl"
#: every message of the check set's source files, by file and day (scripts/build_check_set.py)
CHECK_SET_LINES = REPO / "tests" / "data" / "check_set_lines.json"
LANGUAGES: tuple[str, ...] = LANGS
POSITIVE = "answer"
NEGATIVES = ("non-answer", "off-topic", "other-question")
Label = Literal["answer", "non-answer", "off-topic", "other-question"]


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str
    day: int
    idx: int


class CheckItem(BaseModel):
    """One labelled (question, reply) pair of the check set."""

    model_config = ConfigDict(extra="forbid")

    id: str
    language: Lang
    question: str
    reply: str
    label: Label
    source: Source
    reply_source: Source | None = None

    @property
    def should_pass(self) -> bool:
        return self.label == POSITIVE


def load_check_set(path: Path = CHECK_SET) -> list[CheckItem]:
    with path.open(encoding="utf-8") as fh:
        return [CheckItem.model_validate_json(line) for line in fh if line.strip()]


#: messages by source file, then by day
DayLines = dict[str, dict[int, list[str]]]


def load_day_lines(path: Path = CHECK_SET_LINES) -> DayLines:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {file: {int(day): list(lines) for day, lines in days.items()} for file, days in raw.items()}


def other_days(item: CheckItem, lines: DayLines) -> list[str]:
    """The messages of the item's conversation on the other days: in a session, the script's lines
    of the other days, which a reply to another question is closer to."""
    days = lines.get(item.source.file, {})
    return [line for day, day_lines in sorted(days.items()) if day != item.source.day for line in day_lines]


def stratified(items: Iterable[CheckItem], per_cell: int) -> list[CheckItem]:
    """The first ``per_cell`` items of every (language, label) cell, in file order."""
    seen: dict[tuple[str, str], int] = {}
    out = []
    for item in items:
        key = (item.language, item.label)
        if seen.get(key, 0) < per_cell:
            seen[key] = seen.get(key, 0) + 1
            out.append(item)
    return out


@dataclass
class Outcome:
    item: CheckItem
    result: CheckResult
    seconds: float

    @property
    def accepted(self) -> bool:
        return self.result.answered

    @property
    def wrong(self) -> bool:
        return self.accepted != self.item.should_pass


async def run_check_set(
    model: ChatModel | None,
    items: list[CheckItem],
    *,
    seed: int = 0,
    gate: RelevanceGate | None = None,
    lines: DayLines | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Judge every item, one at a time (the judge's fixed prefix stays in the KV cache). With
    ``lines`` (:func:`load_day_lines`) the gate also compares each reply with the lines of its
    conversation's other days."""
    outcomes = []
    for item in items:
        started = time.perf_counter()
        result = await judge_answer(
            model,
            item.question,
            item.reply,
            seed=seed,
            gate=gate,
            language=item.language,
            others=other_days(item, lines) if lines is not None else (),
        )
        outcome = Outcome(item, result, time.perf_counter() - started)
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes


@dataclass
class Rate:
    wrong: int
    n: int

    @property
    def value(self) -> float:
        return self.wrong / self.n if self.n else 0.0

    def __str__(self) -> str:
        return f"{self.value:.2f} ({self.wrong}/{self.n})" if self.n else "–"


def rate(outcomes: Iterable[Outcome]) -> Rate:
    chosen = list(outcomes)
    return Rate(sum(o.wrong for o in chosen), len(chosen))


def false_rejects(outcomes: list[Outcome], language: str | None = None) -> Rate:
    return rate(o for o in outcomes if o.item.should_pass and language in (None, o.item.language))


def false_accepts(outcomes: list[Outcome], label: str | None = None, language: str | None = None) -> Rate:
    return rate(
        o
        for o in outcomes
        if not o.item.should_pass and label in (None, o.item.label) and language in (None, o.item.language)
    )


def report(spec: str, outcomes: list[Outcome], wall_s: float, load_before: str, *, gate: bool = False) -> str:
    header = [
        "language",
        "false-reject (answers)",
        *[f"false-accept {n}" for n in NEGATIVES],
        "false-accept all",
    ]
    rows = []
    for language in (*LANGUAGES, None):
        rows.append(
            [
                language or "all",
                str(false_rejects(outcomes, language)),
                *[str(false_accepts(outcomes, label, language)) for label in NEGATIVES],
                str(false_accepts(outcomes, None, language)),
            ]
        )
    by = {kind: sum(o.result.by == kind for o in outcomes) for kind in ("rule", "llm", "fallback")}
    llm = [o for o in outcomes if o.result.by == "llm"]
    rule_caught = sum(
        o.result.by == "rule" and not o.accepted for o in outcomes if o.item.label == "non-answer"
    )
    non_answers = sum(o.item.label == "non-answer" for o in outcomes)
    per_call = sum(o.seconds for o in llm) / len(llm) if llm else 0.0
    return "\n".join(
        [
            f"Model `{spec}`"
            + (" (no judge: what rules and gate pass is accepted)" if spec == "none" else "")
            + f", relevance gate {'on' if gate else 'off'}, {len(outcomes)} items of "
            "`tests/data/check_set.jsonl`, seed 0, temperature 0. "
            f"Wall {wall_s:.0f} s; {per_call:.1f} s per judge call; load average before {load_before}, "
            f"after {load_average()}.",
            "",
            markdown_table(header, rows),
            "",
            f"Decided by: rule {by['rule']}, llm {by['llm']}, fallback {by['fallback']} (judge "
            f"unavailable). The rules caught {rule_caught} of {non_answers} non-answers; the judge saw "
            "the rest. Targets: false-accepts of non-answers ≤ 0.10, false-rejects of real replies ≤ 0.10.",
        ]
    )


def main(argv: list[str] | None = None) -> list[Outcome]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", default="local:small", help="model spec (local, local:small, …), or none for no judge"
    )
    parser.add_argument("--gate", action=argparse.BooleanOptionalAction, default=True, help="relevance gate")
    parser.add_argument("--limit", type=int, default=0, help="items per (language, label); 0 = all")
    parser.add_argument("--set", type=Path, default=CHECK_SET, dest="check_set")
    parser.add_argument("--details", type=Path, help="write each item's verdict here (JSONL)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args(argv)

    from sharehouse.llm import load_model, release_local_models

    items = load_check_set(args.check_set)
    if args.limit:
        items = stratified(items, args.limit)
    model = None if args.model == "none" else load_model(args.model)
    gate = RelevanceGate() if args.gate else None
    details = args.details.open("w", encoding="utf-8") if args.details else None

    def show(o: Outcome) -> None:
        mark = "WRONG" if o.wrong else "ok"
        print(
            f"{o.item.id:24} {o.result.by:8} {o.accepted!s:5} {mark:5} {o.seconds:5.1f}s {o.result.reason[:70]}"
        )
        if details is not None:
            row = {"id": o.item.id, "label": o.item.label, "answered": o.accepted, "by": o.result.by,
                   "reason": o.result.reason, "seconds": round(o.seconds, 2)}  # fmt: skip
            details.write(json.dumps(row, ensure_ascii=False) + "\n")
            details.flush()

    load_before = load_average()
    started = time.perf_counter()
    try:
        outcomes = asyncio.run(
            run_check_set(model, items, gate=gate, lines=load_day_lines(), on_outcome=show)
        )
    finally:
        release_local_models()
        if details is not None:
            details.close()
    text = report(args.model, outcomes, time.perf_counter() - started, load_before, gate=args.gate)
    gated = "" if args.gate else ", no gate"
    publish(
        f"bench_check: the reply check on the labelled check set ({args.model}{gated})",
        text,
        write=not args.no_write,
    )
    return outcomes


if __name__ == "__main__":
    main()
