"""What every benchmark shares: machine facts, load average, peak RSS, the RESULTS.md section writer,
and a recording wrapper that measures the ideal prompt-token work of each session."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.metadata as md
import os
import platform
import re
import resource
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sharehouse.llm.base import ChatModel, Completion, GenParams, Message

_DAY = re.compile(r"Instruction: Day (\d+),")
ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "RESULTS.md"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def nproc() -> str:
    try:
        return subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return str(os.cpu_count())


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "?"
    return f"{one:.1f}/{five:.1f}/{fifteen:.1f}"


def versions() -> str:
    out = [f"Python {platform.python_version()}"]
    for dist in ("llama_cpp_python", "duckdb", "sharehouse"):
        try:
            out.append(f"{dist} {md.version(dist)}")
        except md.PackageNotFoundError:
            continue
    return ", ".join(out)


def machine_line() -> str:
    return (
        f"`nproc` = {nproc()}, {cpu_model()}, {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}; {versions()}; "
        f"load average (1/5/15 min) when written: {load_average()}"
    )


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def write_section(title: str, text: str, path: Path = RESULTS) -> None:
    """Replace (or append) the section ``## title`` of RESULTS.md, keeping every other section."""
    heading = f"## {title}"
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    body = heading + "\n\n" + text.strip() + "\n"
    if heading in old:
        head, rest = old.split(heading, 1)
        nxt = rest.find("\n## ")
        tail = rest[nxt + 1 :] if nxt >= 0 else ""
        new = head.rstrip() + "\n\n" + body + ("\n" + tail if tail else "")
    else:
        new = old.rstrip() + "\n\n" + body
    path.write_text(new, encoding="utf-8")


def publish(title: str, text: str, *, write: bool = True, path: Path = RESULTS) -> None:
    """Print a benchmark's report and, when ``write``, store it as section ``title`` of RESULTS.md
    under a line naming this machine and the date."""
    print(text)
    if write:
        write_section(title, f"Machine: {machine_line()}\n\n{text}", path=path)
        print(f"wrote {path}")


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


@dataclass
class CallRecord:
    session: str
    day: int | None
    prompt_tokens: int
    new_tokens: int  # prompt tokens not shared with any earlier prompt or answer of the same session
    evaluated: int | None
    latency_s: float
    completion_tokens: int


@dataclass
class RecordingModel:
    """Wraps a local ChatModel and, per asyncio task (one task per simulated session), records how
    many prompt tokens were new since that session's earlier calls and how many the model evaluated.

    ``tokenize(messages)`` must return the prompt tokens the model really sees."""

    inner: ChatModel
    tokenize: Any
    calls: list[CallRecord] = field(default_factory=list)
    seen: dict[int, list[list[int]]] = field(default_factory=dict)
    day: dict[int, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.inner.name

    async def complete(self, messages: list[Message], params: GenParams) -> Completion:
        task = asyncio.current_task()
        key = id(task)
        tokens = self.tokenize(messages)
        # The housemate's instruction names the day; the user and check calls of a turn follow it.
        found = _DAY.search(messages[-1]["content"]) if messages else None
        if found:
            self.day[key] = int(found.group(1))
        history = self.seen.setdefault(key, [])
        shared = max((common_prefix(tokens, h) for h in history), default=0)
        comp = await self.inner.complete(messages, params)
        answer = self.tokenize([*messages, {"role": "assistant", "content": comp.text}])
        history.extend([tokens, answer])
        self.calls.append(
            CallRecord(
                session=str(key), day=self.day.get(key),
                prompt_tokens=len(tokens), new_tokens=len(tokens) - shared,
                evaluated=comp.evaluated_prompt_tokens, latency_s=comp.latency_s,
                completion_tokens=comp.completion_tokens,
            )
        )  # fmt: skip
        return comp

    def close(self) -> None:
        self.inner.close()
