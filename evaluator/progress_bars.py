"""The ``evaluate`` command's live display: rich progress bars fed by the runner's events.

One bar per method × model (over all its seeds): it advances on every stored, skipped or failed
day-5 turn, notes the errors and flagged predictions so far, then the scoring. It is an
:class:`~evaluator.events.EvalObserver`, like the evaluator screen's
:class:`~sharehouse.tui.evaluator.progress.RunProgress`; the runner draws nothing itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from evaluator.events import (
    EvalEvent,
    MethodSkipped,
    MethodStarted,
    Predicted,
    PredictionFailed,
    Scored,
    Scoring,
    Skipped,
    UserFailed,
)


@dataclass
class _Bar:
    task: TaskID
    total: int
    errors: int = 0
    flagged: int = 0

    def note(self) -> str:
        parts = []
        if self.errors:
            parts.append(f"[red]{self.errors} errors[/red]")
        if self.flagged:
            parts.append(f"[yellow]{self.flagged} flagged[/yellow]")
        return " ".join(parts)


class EvalProgressBars:
    """An observer drawing one bar per method × model on ``console``; disabled, it draws nothing.
    Use it as a context manager around the run and pass it as ``on_event``."""

    def __init__(self, console: Console, *, enabled: bool = True) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"), TimeElapsedColumn(), console=console, disable=not enabled,
        )  # fmt: skip
        self.bars: dict[tuple[str, str], _Bar] = {}

    def __enter__(self) -> EvalProgressBars:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, event: EvalEvent) -> None:
        if isinstance(event, MethodStarted):
            seeds = f" × {event.seeds} seeds" if event.seeds > 1 else ""
            label = f"{event.method} × {event.model}{seeds}"
            task = self.progress.add_task(label, total=event.total, note="")
            self.bars[(event.method, event.model)] = _Bar(task, event.total)
            return
        bar = self.bars.get((str(getattr(event, "method", "")), str(getattr(event, "model", ""))))
        if bar is None:
            return
        match event:
            case Skipped():
                self.progress.update(bar.task, advance=1)
            case Predicted(flagged=flagged):
                bar.flagged += int(flagged)
                self.progress.update(bar.task, advance=1, note=bar.note())
            case PredictionFailed():
                bar.errors += 1
                self.progress.update(bar.task, advance=1, note=bar.note())
            case UserFailed(turns=turns):
                bar.errors += 1
                self.progress.update(bar.task, advance=turns, note=bar.note())
            case MethodSkipped(reason=reason):
                self.progress.update(bar.task, completed=bar.total, note=f"[red]skipped: {reason}[/red]")
            case Scoring():
                self.progress.update(bar.task, note="scoring…")
            case Scored(predictions=n):
                errors = f", {bar.errors} errors" if bar.errors else ""
                self.progress.update(bar.task, note=f"scored {n}{errors}")
