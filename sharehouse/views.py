"""Rich renderings of stored sessions for the terminal (used by the CLI and ``make run``)."""

from __future__ import annotations

import json

from rich.console import Console
from rich.markup import escape
from rich.rule import Rule
from rich.table import Table

from sharehouse.store import SessionRecord, TurnRecord
from sharehouse.textclean import sanitize_input

STATUS_STYLE = {"complete": "green", "active": "yellow", "failed": "red"}


def sessions_table(rows: list[SessionRecord], turn_counts: dict[str, int]) -> Table:
    table = Table(title=f"{len(rows)} session(s)", header_style="bold")
    for col in ("id", "kind", "source", "user", "lang", "status", "day", "turns", "run", "updated"):
        table.add_column(col, no_wrap=col in ("id", "updated"))
    for r in rows:
        style = STATUS_STYLE.get(r.status, "")
        table.add_row(
            r.id,
            r.kind,
            r.source,
            _safe(r.user_id),
            r.language,
            f"[{style}]{r.status}[/{style}]"
            + (f" ({_safe(r.failure_reason[:40])})" if r.failure_reason else ""),
            str(r.position_day or "-"),
            str(turn_counts.get(r.id, 0)),
            r.run_id or "-",
            r.updated_at.strftime("%Y-%m-%d %H:%M") if r.updated_at else "-",
        )
    return table


def _safe(text: str) -> str:
    """Stored text as printable markup: terminal escapes and control characters removed (whatever
    wrote the row), Rich markup escaped."""
    return escape(sanitize_input(text))


FALLBACK_MARKERS = {
    "check": "judge unavailable",
    "npc": "written line",
    "reply": "canned reply",
}


def fallback_markers(turn: TurnRecord) -> list[str]:
    """What stood in for a model on this turn: the judge failed (the reply was accepted without
    it), the scenario's written line replaced an unusable NPC line, or a simulated user's canned
    reply replaced unusable model replies."""
    out = []
    if turn.check_by == "fallback":
        out.append(FALLBACK_MARKERS["check"])
    if turn.npc_fallback:
        out.append(FALLBACK_MARKERS["npc"])
    if turn.reply_fallback:
        out.append(FALLBACK_MARKERS["reply"])
    return out


def rejected_lines(turn: TurnRecord) -> str | None:
    """A note such as "2 housemate lines rejected (echo, no-question)" when the guard rejected
    generated lines before the shown one, else None."""
    if not turn.npc_rejected:
        return None
    try:
        reasons = [str(r) for r in json.loads(turn.npc_reject_reasons or "[]")]
    except ValueError:
        reasons = []
    noun = "line" if turn.npc_rejected == 1 else "lines"
    why = f" ({', '.join(dict.fromkeys(reasons))})" if reasons else ""
    return f"{turn.npc_rejected} housemate {noun} rejected{why}"


def render_line(console: Console, npc: str, message: str, prefix: str = "") -> None:
    """A housemate's line, as it appears in a transcript."""
    console.print(f"{prefix}[bold magenta]{_safe(npc)}[/bold magenta]: {_safe(message)}")


def render_reply(console: Console, t: TurnRecord, prefix: str = "") -> None:
    """The reply of a turn, with its dimension, verdict and any fallback or guard marks."""
    tag = []
    if t.mbti and t.mbti != "none":
        tag.append(t.mbti)
    if t.verdict and t.verdict not in ("advance", "imported"):
        tag.append(t.verdict)
    suffix = f"  [dim]({', '.join(tag)})[/dim]" if tag else ""
    warn = fallback_markers(t)
    if warn:
        suffix += f"  [yellow]⚠ {escape(', '.join(warn))}[/yellow]"
    rejected = rejected_lines(t)
    if rejected:
        suffix += f"  [dim]✗ {escape(rejected)}[/dim]"
    console.print(f"{prefix}[bold cyan]  ↳ reply[/bold cyan]: {_safe(t.response)}{suffix}")
    if t.check_by == "fallback" and t.check_reason:
        console.print(f"{prefix}[dim]    check: {_safe(t.check_reason)}[/dim]")


def render_turn(console: Console, t: TurnRecord, prefix: str = "") -> None:
    render_line(console, t.npc, t.message, prefix)
    render_reply(console, t, prefix)


def render_transcript(console: Console, rec: SessionRecord, turns: list[TurnRecord]) -> None:
    console.print(
        f"[bold]{rec.id}[/bold]  {rec.kind} · {rec.source} · user {_safe(rec.user_id)} · {rec.language} · "
        f"[{STATUS_STYLE.get(rec.status, '')}]{rec.status}[/]"
    )
    day = None
    for t in turns:
        if t.day != day:
            day = t.day
            console.print(Rule(f"Day {day}", style="cyan"))
        render_turn(console, t)
    if rec.pending_message:
        console.print(
            f"[bold magenta]{_safe(rec.pending_npc or '')}[/bold magenta]: {_safe(rec.pending_message)}"
        )
        console.print("[dim]  (waiting for a reply)[/dim]")
    if rec.status == "failed" and rec.failure_reason:
        console.print(f"[red]failed:[/red] {_safe(rec.failure_reason)}")
    counts = {label: sum(label in fallback_markers(t) for t in turns) for label in FALLBACK_MARKERS.values()}
    if any(counts.values()):
        summary = ", ".join(f"{label}: {n}" for label, n in counts.items() if n)
        console.print(f"[yellow]⚠ fallback turns[/yellow] ({escape(summary)} of {len(turns)} turns)")
    guarded = [t for t in turns if t.npc_rejected]
    if guarded:
        total = sum(t.npc_rejected or 0 for t in guarded)
        console.print(
            f"[dim]✗ housemate lines rejected by the guard: {total} in {len(guarded)} of {len(turns)} turns[/dim]"
        )
