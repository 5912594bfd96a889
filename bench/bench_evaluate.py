"""What a full ``evaluate`` run of the prompting methods over the 100 YNTP-100 users costs on the local
model, and how long one LoRA user takes.

A full run is not timed: a seeded sample of users per language (default 3) runs through the real
runner (:func:`evaluator.runner.run_evaluation`, LLM cache off, a fresh DuckDB store) for each
prompting method (zero-shot, few-shot+style, few-shot-mbti+style, cot+style, gpg, retrieval), and the time of all
100 users is extrapolated from it: per language, the sample's mean time per user (fit + every
day-5 prediction) × that language's number of users. The per-user spread (min / median / max) and
the time per prediction are reported beside it. Then one LoRA user is fitted (default training
settings unless ``--lora-steps``) and predicts its day-5 turns. Model loading is timed apart and
left out of the per-user figures; scoring (M1–M6) is benchmarked by bench/bench_scoring.py.

    .venv/bin/python -m bench.bench_evaluate [--per-language 3] [--sample-seed 0] [--model local]
        [--methods zero-shot,...] [--max-tokens 160] [--limit-turns N] [--lora-steps N] [--no-lora]
        [--no-write]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import load_average, markdown_table, publish  # noqa: E402
from sharehouse.lang import LANGS, parse_languages  # noqa: E402

SHARED = ROOT.parent / "shared" / "yntp100"
SECTION = "Evaluate: prompting methods over YNTP-100 and one LoRA user (bench/bench_evaluate.py)"
PROMPTING = ("zero-shot", "few-shot+style", "few-shot-mbti+style", "cot+style", "gpg", "retrieval")
LANGUAGES: tuple[str, ...] = LANGS


@dataclass
class MethodFigures:
    method: str
    per_user_s: dict[str, list[float]]  # language -> seconds per sampled user (fit + predictions)
    predictions: int
    predict_s: float  # sum of prediction latencies
    fit_s: float  # sum of fit latencies
    failed_users: int
    wall_s: float

    @property
    def all_user_s(self) -> list[float]:
        return [s for v in self.per_user_s.values() for s in v]

    def estimate_s(self, users_per_language: dict[str, int]) -> float:
        """Σ over languages of (the sample's mean seconds per user × that language's users)."""
        total = 0.0
        for lang, n in users_per_language.items():
            got = self.per_user_s.get(lang) or self.all_user_s
            total += statistics.fmean(got) * n if got else 0.0
        return total

    @property
    def per_prediction_s(self) -> float:
        return (self.fit_s + self.predict_s) / max(1, self.predictions)


@dataclass
class LoraFigures:
    user: str
    settings: dict[str, Any]
    load_s: float  # converting (first time only) and loading the transformers base model
    fit_s: float
    steps: int
    predictions: int
    predict_s: float
    failed: str | None = None

    @property
    def total_s(self) -> float:
        return self.fit_s + self.predict_s


@dataclass
class EvaluateFigures:
    model: str
    sample: dict[str, list[str]]  # language -> sampled user ids
    users_per_language: dict[str, int]
    turns_per_language: dict[str, int]
    max_tokens: int
    limit_turns: int | None
    load_s: float
    methods: list[MethodFigures] = field(default_factory=list)
    lora: LoraFigures | None = None
    load_start: str = ""
    load_end: str = ""

    @property
    def sampled_users(self) -> int:
        return sum(len(v) for v in self.sample.values())

    @property
    def total_users(self) -> int:
        return sum(self.users_per_language.values())

    @property
    def estimate_s(self) -> float:
        """All timed methods over all users, extrapolated from the sample."""
        return sum(m.estimate_s(self.users_per_language) for m in self.methods)


def _store(tmp: Path) -> Any:
    from sharehouse.io import import_yntp
    from sharehouse.store import Store

    store = Store(tmp / "bench_evaluate.duckdb")
    import_yntp(store, SHARED)
    return store


def sample_tasks(
    tasks: Sequence[Any], per_language: int, seed: int, languages: Sequence[str] = LANGUAGES
) -> dict[str, list[Any]]:
    """``per_language`` users of each language, drawn with ``random.Random(seed)`` (reproducible)."""
    rng = random.Random(seed)
    out: dict[str, list[Any]] = {}
    for lang in languages:
        mine = sorted((t for t in tasks if t.language == lang), key=lambda t: t.user_id)
        out[lang] = rng.sample(mine, min(per_language, len(mine)))
    return out


def _time_method(store: Any, tasks: list[Any], method: str, spec: str, params: Any) -> MethodFigures:
    from evaluator.request import EvalOptions
    from evaluator.runner import run_evaluation
    from sharehouse.store.evaluation import load_predictions, load_user_status

    t0 = time.perf_counter()
    rid = run_evaluation(store, tasks, EvalOptions(methods=[method], models=[spec], params=params))
    wall = time.perf_counter() - t0
    preds = load_predictions(store, rid)
    status = load_user_status(store, rid)
    per_user: dict[str, list[float]] = {}
    by_user = {t.user_id: t.language for t in tasks}
    for st in status:
        if st.status != "ok":
            continue
        spent = (st.fit_latency_s or 0.0) + sum(p.latency_s or 0.0 for p in preds if p.user_id == st.user_id)
        per_user.setdefault(by_user[st.user_id], []).append(spent)
    return MethodFigures(
        method=method,
        per_user_s=per_user,
        predictions=len(preds),
        predict_s=sum(p.latency_s or 0.0 for p in preds),
        fit_s=sum(st.fit_latency_s or 0.0 for st in status if st.status == "ok"),
        failed_users=sum(1 for st in status if st.status != "ok"),
        wall_s=wall,
    )


def _time_lora(store: Any, task: Any, spec: str, params: Any, steps: int | None) -> LoraFigures:
    from evaluator.methods.lora import TrainSettings
    from evaluator.request import EvalOptions
    from evaluator.runner import EvalParams, run_evaluation
    from sharehouse.store.evaluation import load_predictions, load_user_status

    extra = dict(params.extra)
    if steps is not None:
        extra["max_steps"] = steps
    settings = TrainSettings.from_extra(extra)
    t0 = time.perf_counter()
    base = settings.load(spec, method="lora")
    load_s = time.perf_counter() - t0
    lora_params = EvalParams.model_validate({**params.model_dump(), "extra": extra})
    rid = run_evaluation(store, [task], EvalOptions(methods=["lora"], models=[spec], params=lora_params))
    (st,) = load_user_status(store, rid)
    preds = load_predictions(store, rid)
    return LoraFigures(
        user=task.user_id,
        settings={**settings.model_dump(), "dtype": base.dtype},
        load_s=load_s,
        fit_s=st.fit_latency_s or 0.0,
        steps=int((st.fit_info or {}).get("steps", 0)),
        predictions=len(preds),
        predict_s=sum(p.latency_s or 0.0 for p in preds),
        failed=st.error if st.status != "ok" else None,
    )


def run(
    *,
    model: str = "local",
    per_language: int = 3,
    sample_seed: int = 0,
    methods: Sequence[str] = PROMPTING,
    languages: Sequence[str] = LANGUAGES,
    max_tokens: int = 160,
    limit_turns: int | None = None,
    extra: dict[str, Any] | None = None,
    lora: bool = True,
    lora_steps: int | None = None,
) -> EvaluateFigures:
    """Time ``methods`` on a seeded sample of users and (optionally) one LoRA user; see the module doc."""
    from evaluator.runner import EvalParams
    from evaluator.task import build_tasks
    from sharehouse.llm import load_model

    load_start = load_average()
    with tempfile.TemporaryDirectory(prefix="bench-evaluate-") as tmp:
        store = _store(Path(tmp))
        try:
            everyone, _ = build_tasks(store, source="yntp100")
            users = {lang: sum(1 for t in everyone if t.language == lang) for lang in LANGUAGES}
            turns = {lang: sum(len(t.tests) for t in everyone if t.language == lang) for lang in LANGUAGES}
            picked = sample_tasks(everyone, per_language, sample_seed, languages)
            tasks = [t for lang in languages for t in picked[lang]]
            if limit_turns is not None:
                for t in tasks:
                    t.tests = t.tests[:limit_turns]
            t0 = time.perf_counter()
            chat = load_model(model)
            load = getattr(getattr(chat, "inner", chat), "load", None)
            if callable(load):
                load()
            load_s = time.perf_counter() - t0
            if "retrieval" in methods:  # its encoders load once per process, not once per user
                from evaluator.methods.base import MethodContext
                from evaluator.methods.retrieval import encoder_for
                from evaluator.metrics.encoders import get_encoder

                t0 = time.perf_counter()
                ctx = MethodContext(model=None, model_spec=model, extra=dict(extra or {}))  # type: ignore[arg-type]
                for name in sorted({encoder_for(lang, ctx) for lang in languages}):
                    get_encoder(name)
                load_s += time.perf_counter() - t0
            params = EvalParams(max_tokens=max_tokens, extra=dict(extra or {}), score=False, use_cache=False)
            fig = EvaluateFigures(
                model=model,
                sample={lang: [t.user_id for t in picked[lang]] for lang in languages},
                users_per_language=users,
                turns_per_language=turns,
                max_tokens=max_tokens,
                limit_turns=limit_turns,
                load_s=load_s,
                load_start=load_start,
            )
            for method in methods:
                fig.methods.append(_time_method(store, tasks, method, model, params))
            if lora and tasks:
                fig.lora = _time_lora(store, tasks[0], model, params, lora_steps)
        finally:
            store.close()
    fig.load_end = load_average()
    return fig


def fmt_duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


def report(fig: EvaluateFigures, *, label: str = "") -> str:
    sample = "; ".join(f"{lang}: {', '.join(ids)}" for lang, ids in fig.sample.items())
    turns = "all day-5 turns" if fig.limit_turns is None else f"at most {fig.limit_turns} day-5 turn(s)"
    head = (
        f"{label}Model `{fig.model}` (llama.cpp; it and the retrieval encoders loaded once in "
        f"{fig.load_s:.1f} s, not counted), max "
        f"{fig.max_tokens} tokens per reply, method options at their defaults, LLM cache off, no scoring. "
        f"Sample (random.Random seed, {fig.sampled_users} users): {sample}; {turns} per sampled user. "
        f"Population: {fig.total_users} users "
        f"({', '.join(f'{k} {v}' for k, v in fig.users_per_language.items())}), "
        f"{sum(fig.turns_per_language.values())} day-5 turns.\n\n"
        f"**The 100-user figures are extrapolations from {fig.sampled_users} sampled users**, not a timed "
        "full run: per language, the sample's mean seconds per user (fit + predictions) × that "
        "language's users."
    )
    missing = [lang for lang in fig.users_per_language if not fig.sample.get(lang)]
    if missing:
        head += (
            f" No user of {', '.join(missing)} was sampled; those users are counted at the mean of the "
            "sampled languages."
        )
    if fig.limit_turns is not None:
        head += (
            " The sample was cut to fewer turns than a real run has, so these figures understate a full run."
        )
    rows = []
    total = 0.0
    for m in fig.methods:
        per = m.all_user_s
        est = m.estimate_s(fig.users_per_language)
        total += est
        spread = f"{min(per):.1f} / {statistics.median(per):.1f} / {max(per):.1f}" if per else "–"
        rows.append(
            [
                m.method,
                str(len(per)),
                str(m.predictions),
                f"{statistics.fmean(per):.1f}" if per else "–",
                spread,
                f"{m.per_prediction_s:.2f}",
                fmt_duration(est),
                str(m.failed_users) if m.failed_users else "–",
            ]
        )
    rows.append(
        [
            "**all six**" if len(fig.methods) == 6 else "**all**",
            "",
            "",
            "",
            "",
            "",
            f"**{fmt_duration(total)}**",
            "",
        ]
    )
    table = markdown_table(
        [
            "method",
            "users timed",
            "predictions",
            "s per user (mean)",
            "s per user min / median / max",
            "s per prediction (incl. fit)",
            "100 users (extrapolated)",
            "failed",
        ],
        rows,
    )
    text = f"{head}\n\n{table}"
    if fig.lora is not None:
        lo = fig.lora
        defaults = (
            "default training settings"
            if lo.settings.get("max_steps") is None
            else (f"max_steps {lo.settings['max_steps']} (not the default)")
        )
        text += (
            f"\n\nOne LoRA user ({lo.user}, {defaults}: epochs {lo.settings['epochs']}, r "
            f"{lo.settings['lora_r']}, dtype {lo.settings['dtype']}, {lo.settings['threads']} torch threads): "
            f"base model load {lo.load_s:.1f} s (not counted), fit {lo.fit_s:.1f} s for {lo.steps} steps, "
            f"{lo.predictions} prediction(s) in {lo.predict_s:.1f} s, **{fmt_duration(lo.total_s)} per user**; "
            f"× {fig.total_users} users ≈ {fmt_duration(lo.total_s * fig.total_users)} (extrapolated from one user)."
        )
        if lo.failed:
            text += f" The LoRA user failed: {lo.failed}."
    text += f"\n\nLoad average (1/5/15 min): {fig.load_start} at the start → {fig.load_end} at the end."
    return text


def main(argv: Sequence[str] | None = None) -> EvaluateFigures:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="local", help="model spec (default: local, the packaged 1.5B)")
    parser.add_argument("--per-language", type=int, default=3, help="sampled users per language")
    parser.add_argument("--sample-seed", type=int, default=0, help="seed of the user sample")
    parser.add_argument("--methods", default=",".join(PROMPTING), help="comma-separated registry names")
    parser.add_argument("--languages", default=",".join(LANGUAGES))
    parser.add_argument("--max-tokens", type=int, default=160, help="as `evaluate --max-tokens`")
    parser.add_argument("--limit-turns", type=int, default=None, help="at most N day-5 turns per user")
    parser.add_argument("--lora-steps", type=int, default=None, help="LoRA max_steps (default: the defaults)")
    parser.add_argument("--no-lora", action="store_true", help="leave out the LoRA user")
    parser.add_argument("--label", default="", help="prefix of the written section's text")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    fig = run(
        model=args.model,
        per_language=args.per_language,
        sample_seed=args.sample_seed,
        methods=[m.strip() for m in args.methods.split(",") if m.strip()],
        languages=parse_languages(args.languages),
        max_tokens=args.max_tokens,
        limit_turns=args.limit_turns,
        lora=not args.no_lora,
        lora_steps=args.lora_steps,
    )
    text = report(fig, label=args.label)
    publish(SECTION, text, write=not args.no_write, path=args.results)
    return fig


if __name__ == "__main__":
    main()
