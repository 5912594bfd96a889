"""Export benchmark: peak memory of the single-file Parquet export against the partitioned one, as
the store grows.

A store of synthetic simulated sessions (three languages, two runs, ``--turns`` turns each, texts
of about the stored sessions' length: some 450 characters of housemate line, reply and check reason
a turn) is built with the store API; each export then runs in a fresh process, whose peak resident
set size (``ru_maxrss``) is its memory figure. The single-file export holds every turn of the export
in memory before writing; the partitioned one reads :data:`sharehouse.io.export.SESSION_BATCH`
sessions at a time, so its peak should not grow with the store.

    .venv/bin/python -m bench.bench_export [--sessions 1000 --sessions 4000] [--turns 30] [--write]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import load_average, markdown_table, peak_rss_mb, publish

SECTION = "Export: single Parquet file vs partitioned, peak memory (bench/bench_export.py)"
LANGUAGES: tuple[str, ...] = ("en", "ja", "zh")
RUNS: tuple[str, ...] = ("run-a", "run-b")
#: words are drawn from syllables, so the texts compress about as badly as prose (not as a short word list)
_SYLLABLES = tuple(c + v for c in "bcdfghklmnprstvwyz" for v in ("a", "e", "i", "o", "u", "ai", "ou"))


def _text(rng: random.Random, chars: int) -> str:
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < chars:
        words.append("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 3))))
    return " ".join(words)


def build_store(path: Path, sessions: int, turns: int, seed: int = 0) -> float:
    """Write ``sessions`` simulated sessions of ``turns`` turns each; returns the seconds it took."""
    from sharehouse.store import SessionRecord, Store, TurnRecord
    from sharehouse.store.bulk import insert_turns

    rng = random.Random(seed)
    started = time.perf_counter()
    with Store(path) as store:
        for n in range(sessions):
            language, run = LANGUAGES[n % len(LANGUAGES)], RUNS[(n // len(LANGUAGES)) % len(RUNS)]
            sid = f"sim-{run}-p-{language}-{n:06d}"
            store.create_session(
                SessionRecord(
                    id=sid, kind="simulated", source="simulate", user_id=f"p-{language}-{n:06d}",
                    persona_id=f"p-{language}-{n:06d}", language=language, run_id=run, status="complete",
                )
            )  # fmt: skip
            insert_turns(
                store,
                [
                    TurnRecord(
                        session_id=sid, day=1 + i * 5 // turns, idx=i, npc="Leo", state_id=f"s{i}", mbti="E/I",
                        message=_text(rng, 120), response=_text(rng, 250), verdict="advance", check_by="llm",
                        check_reason=_text(rng, 80), npc_rejected=0, npc_reject_reasons="[]",
                    )
                    for i in range(turns)
                ],
            )  # fmt: skip
    return time.perf_counter() - started


@dataclass
class ExportFigures:
    mode: str
    sessions: int
    turns: int
    files: int
    bytes: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float


def _child(db: Path, out: Path, mode: str) -> None:
    """Run one export in this (fresh) process and print its figures as JSON."""
    from sharehouse.io import export_sessions
    from sharehouse.store import Store

    started, cpu = time.perf_counter(), time.process_time()
    with Store(db, read_only=True) as store:
        report = export_sessions(store, out, "parquet", partitioned=mode == "partitioned")
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    size = sum(p.stat().st_size for p in ([out] if out.is_file() else out.rglob("*.parquet")))
    print(
        json.dumps(
            {
                "mode": mode, "sessions": report.sessions, "turns": report.turns, "files": report.files,
                "bytes": size, "wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak_rss_mb(),
            }
        )
    )  # fmt: skip


def measure(db: Path, out: Path, mode: str) -> ExportFigures:
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_export", "--child", mode, "--db", str(db), "--out", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    return ExportFigures(**json.loads(done.stdout.strip().splitlines()[-1]))


def _baseline_rss_mb() -> float:
    """Peak RSS of a process that imports what an export imports and opens nothing."""
    code = (
        "import pyarrow.parquet, duckdb, sharehouse.io.export, sharehouse.store;"
        "from bench.common import peak_rss_mb; print(peak_rss_mb())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, action="append", help="store size(s) to measure (repeatable)")
    parser.add_argument("--turns", type=int, default=30, help="turns per session")
    parser.add_argument("--write", action="store_true", help="store the report in bench/RESULTS.md")
    parser.add_argument("--child", choices=("single", "partitioned"), help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.db, args.out, args.child)
        return
    load = load_average()
    rows = []
    base = _baseline_rss_mb()
    for sessions in args.sessions or [1000, 4000]:
        with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
            db = Path(tmp) / "store.duckdb"
            built = build_store(db, sessions, args.turns)
            for mode in ("single", "partitioned"):
                out = Path(tmp) / ("turns.parquet" if mode == "single" else "parts")
                fig = measure(db, out, mode)
                rows.append(
                    [fig.mode, fig.sessions, fig.turns, fig.files, f"{fig.bytes / 1e6:.1f}",
                     f"{fig.bytes / max(1, fig.turns):.0f}", f"{fig.wall_s:.1f}", f"{fig.cpu_s:.1f}",
                     f"{fig.peak_rss_mb:.0f}", f"{fig.peak_rss_mb - base:.0f}", f"{built:.0f}"]
                )  # fmt: skip
    header = [
        "export", "sessions", "turns", "files", "MB written", "bytes/turn", "wall s", "CPU s", "peak RSS MiB",
        "above imports MiB", "store built in s",
    ]  # fmt: skip
    text = (
        f"Synthetic simulated sessions, {args.turns} turns each, 3 languages × 2 runs; each export in a fresh "
        f"process (peak RSS of a process that only imports the export's modules: {base:.0f} MiB).\n\n"
        + markdown_table(header, rows)
        + f"\n\nLoad average {load} → {load_average()}."
    )
    publish(SECTION, text, write=args.write)


if __name__ == "__main__":
    main()
