"""The quality report as rows: a rich table for the terminal, Markdown for bench/RESULTS.md."""

from __future__ import annotations

from collections.abc import Callable

from rich.table import Table

from sharehouse.realism.quality import LanguageQuality, QualityMeasures, QualityReport

HEADER: tuple[str, ...] = ("measure", "real", "simulated", "target", "pass")

_Fmt = Callable[[float], str]


def _ratio(x: float) -> str:
    return f"{x:.3f}"


def _rate(x: float) -> str:
    return f"{x:.2f}"


def _count(x: float) -> str:
    return f"{x:.0f}"


# (field of QualityMeasures, label, format)
_ROWS: tuple[tuple[str, str, _Fmt], ...] = (
    ("sessions", "sessions", _count),
    ("replies", "replies", _count),
    ("self_repeat", "self-repeat of replies", _ratio),
    ("distinct", "distinct replies", _ratio),
    ("repeated_clauses", "repeated clauses", _ratio),
    ("repeated_openers", 'repeated openers ("Sure, …")', _ratio),
    ("repeated_starts", "replies starting like an earlier one", _ratio),
    ("repeated_sentences", "sentences said again in other words", _ratio),
    ("reused_phrases", "replies reusing a phrase of an earlier one", _ratio),
    ("sample_copies", "copies of persona examples", _count),
    ("npc_echo", "NPC echo/repeat", _ratio),
    ("npc_opens_like_reply", "NPC line opens like the last reply", _ratio),
    ("npc_restates_reply", "NPC line says the last reply back", _ratio),
    ("npc_shared", "NPC lines shared across sessions", _ratio),
    ("npc_fallback", "NPC fallbacks", _ratio),
    ("npc_scripted", "NPC lines scripted (day openers)", _ratio),
    ("reply_fallback", "reply fallbacks", _ratio),
    ("npc_rejected_per_turn", "NPC lines rejected per turn", _rate),
    ("reply_resampled_per_turn", "reply resamples per turn", _rate),
    ("relevance", "question-reply relevance", _ratio),
    ("stance_sides", "replies taking their stance's side", _ratio),
    ("reasons", 'replies giving a reason ("because")', _ratio),
    ("opens_with_i", 'replies opening with "I" (我, 私)', _ratio),
    ("followup_rate", "check: follow-up verdicts", _ratio),
    ("check_llm_share", "check: by the LLM", _ratio),
    ("mean_length", "mean reply length (chars)", _count),
)


def _value(m: QualityMeasures | None, name: str, fmt: _Fmt) -> str:
    value = getattr(m, name) if m is not None else None
    return "—" if value is None else fmt(value)


def _mark(passed: bool | None) -> str:
    return {True: "pass", False: "FAIL", None: "n/a"}[passed]


def language_rows(lang: LanguageQuality) -> list[tuple[str, str, str, str, str]]:
    """One row per measure (real, simulated, target, pass), then the style features (W/σ as target)."""
    targets = {t.measure: t for t in lang.targets}
    rows: list[tuple[str, str, str, str, str]] = []
    for name, label, fmt in _ROWS:
        t = targets.get(name)
        rows.append(
            (label, _value(lang.real, name, fmt), _value(lang.sim, name, fmt),
             t.target if t else "", _mark(t.passed) if t else "")
        )  # fmt: skip
    t = targets.get("length_w_sigma")
    w = "—" if lang.length_w_sigma is None else f"{lang.length_w_sigma:.2f}"
    rows.append(("reply length W/σ", "0", w, t.target if t else "", _mark(t.passed) if t else ""))
    if lang.style is not None:
        for f in lang.style.features:
            dist = "n/a" if f.wasserstein_norm is None else f"{f.wasserstein_norm:.2f}"
            rows.append(
                (f"style: {f.feature} (mean)", f"{f.real_mean:.3f}", f"{f.sim_mean:.3f}", f"W/σ {dist}", "")
            )
    return rows


def render_quality_table(report: QualityReport) -> Table:
    """One section per language: real people and simulated users side by side, with the targets."""
    table = Table(title="Dialogue quality: real YNTP-100 people vs simulated users")
    table.add_column("lang")
    for col in HEADER:
        table.add_column(col, justify="left" if col == "measure" else "right")
    for i, lang in enumerate(report.languages):
        if i:
            table.add_section()
        for row in language_rows(lang):
            mark = row[4]
            style = "red" if mark == "FAIL" else "green" if mark == "pass" else None
            table.add_row(lang.language, *row[:4], f"[{style}]{mark}[/{style}]" if style else mark)
    notes = []
    if report.only_real:
        notes.append(f"no simulated sessions in: {', '.join(report.only_real)}")
    if report.only_sim:
        notes.append(f"no real people in: {', '.join(report.only_sim)}")
    encoders = {lang.language: lang.encoder for lang in report.languages if lang.encoder}
    if encoders:
        notes.append("relevance encoders: " + ", ".join(f"{k} {v}" for k, v in encoders.items()))
    table.caption = "; ".join(notes) or None
    return table


def markdown_quality(report: QualityReport) -> str:
    """The same rows as Markdown tables, one per language."""
    parts: list[str] = []
    for lang in report.languages:
        lines = [
            f"**{lang.language}**",
            "",
            "| " + " | ".join(HEADER) + " |",
            "|" + "|".join("---" for _ in HEADER) + "|",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in language_rows(lang)]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)
