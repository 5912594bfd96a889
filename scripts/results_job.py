"""Our own YNTP-100 results table (issue 14), as a background job that resumes across restarts.

    .venv/bin/python scripts/results_job.py [--db sessions/results.duckdb] [--per-language 5]
        [--seed 0] [--only small|local|lora|report] [--lora-users 3]

The paper protocol (``--protocol paper``) on a seeded sample of ``--per-language`` users per
language, every day-5 turn of each:

1. ``results-paper-local-small``: the six prompting methods on ``local:small``;
2. ``results-paper-local``: zero-shot, few-shot and CoT on ``local``;
3. ``results-paper-lora``: LoRA on ``local:small`` for the first ``--lora-users`` users of the sample.

Each step is one ``sharehouse evaluate`` run with a fixed run id, so running the script again skips
every stored prediction and continues where it stopped (``evaluate``'s own resume). Afterwards (and
after every step) ``sharehouse report eval`` writes each run's tables under ``docs/results/`` and
``docs/results.md`` is rebuilt from them, saying which steps are complete.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHAREHOUSE = [sys.executable, "-m", "sharehouse.cli"]
PROMPTING = ("zero-shot", "few-shot", "few-shot-mbti", "cot", "gpg", "retrieval")


def steps() -> list[tuple[str, str, list[str], str]]:
    """(key, run id, methods, model) in the order they run; the users follow from the sample."""
    return [
        ("small", "results-paper-local-small", list(PROMPTING), "local:small"),
        ("local", "results-paper-local", ["zero-shot", "few-shot", "cot"], "local"),
        ("lora", "results-paper-lora", ["lora"], "local:small"),
    ]


def sample_users(yntp: Path, per_language: int, seed: int) -> list[str]:
    """A seeded sample of ``per_language`` YNTP-100 users of each language (``en_3``, ``cn_12``, ...)."""
    picked: list[str] = []
    for folder in ("en", "jp", "cn"):
        ids = sorted((p.stem for p in (yntp / folder).glob("*.json")), key=lambda s: int(s.split("_")[-1]))
        if len(ids) < per_language:
            raise SystemExit(f"{yntp / folder}: only {len(ids)} users, {per_language} wanted")
        picked += sorted(random.Random(f"{seed}:{folder}").sample(ids, per_language), key=ids.index)
    return picked


def sharehouse(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SHAREHOUSE, *args], cwd=ROOT, text=True, capture_output=True)


def ensure_imported(db: Path, yntp: Path) -> None:
    import duckdb

    if db.exists():
        with duckdb.connect(str(db), read_only=True) as con:
            (count,) = con.execute("SELECT count(*) FROM sessions WHERE source = 'yntp100'").fetchone() or (
                0,
            )
        if count:
            return
    got = sharehouse("import", "yntp", str(yntp), "--db", str(db))
    if got.returncode != 0:
        raise SystemExit(f"import yntp failed:\n{got.stderr}")


def run_step(db: Path, run_id: str, methods: list[str], model: str, users: list[str], seed: int) -> bool:
    args = [
        "evaluate", "--protocol", "paper", "--methods", ",".join(methods), "--models", model,
        "--users", ",".join(users), "--seed", str(seed), "--run", run_id, "--db", str(db), "--no-progress",
    ]  # fmt: skip
    print(f"[{datetime.now(UTC):%H:%M:%S}] sharehouse {' '.join(args)}", flush=True)
    done = subprocess.run([*SHAREHOUSE, *args], cwd=ROOT, text=True)
    return done.returncode == 0


def run_status(db: Path, run_id: str) -> str | None:
    import duckdb

    try:
        with duckdb.connect(str(db), read_only=True) as con:
            row = con.execute("SELECT status FROM runs WHERE id = ?", [run_id]).fetchone()
    except duckdb.Error:
        return None
    return str(row[0]) if row else None


def progress(db: Path, run_id: str) -> str:
    """``"97 predictions stored, 66 scored (zero-shot 66/66 ...)"`` for a run."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT p.method, count(*), count(s.m1) FROM eval_predictions p LEFT JOIN eval_scores s "
            "ON s.eval_run = p.eval_run AND s.method = p.method AND s.model = p.model AND s.seed = p.seed "
            "AND s.session_id = p.session_id AND s.day = p.day AND s.idx = p.idx "
            "WHERE p.eval_run = ? GROUP BY p.method ORDER BY p.method",
            [run_id],
        ).fetchall()
    if not rows:
        return "no predictions yet"
    parts = ", ".join(f"{m} {n} predicted / {k} scored" for m, n, k in rows)
    return f"{parts}"


def write_docs(
    db: Path, plan: list[tuple[str, str, list[str], str]], users: list[str], lora: list[str]
) -> Path:
    out_dir = ROOT / "docs" / "results"
    parts = [
        "# Our results on a sample of YNTP-100",
        "",
        "These tables cover a **sample**, not the whole dataset: a seeded sample of "
        f"{len(users) // 3} users per language ({', '.join(users)}), every day-5 turn of each, under the "
        "paper protocol (`--protocol paper`: the Appendix E prompt structure, 512 tokens, temperature "
        "0.7, top-p 1.0). Z-scores are standardised within each language, as the published Table 2; "
        "the cross-language leaderboard follows Table 3 (Substance = mean z of M1–M3 over the three "
        "languages, Style = M4–M6, Overall = their mean). With 5 users per language a z-score moves "
        "by tenths when one user changes: read the ranks, not the second decimal. While a run has "
        "one scored method its z-scores are 0 by construction (z compares the methods of a run with "
        "each other): read its raw scores.",
        "",
        "Rebuild or continue: `.venv/bin/python scripts/results_job.py` (it resumes every run by its id "
        "in `sessions/results.duckdb`).",
        "",
        f"Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on a 2-core CPU machine, no GPU.",
    ]
    for key, run_id, methods, model in plan:
        status = run_status(db, run_id) or "not started"
        if status != "not started":
            status += f", {progress(db, run_id)}"
        who = f"users {', '.join(lora)}" if key == "lora" else "the sample"
        parts += ["", f"## `{run_id}`: {', '.join(methods)} on `{model}`, {who} ({status})", ""]
        if status == "not started":
            parts.append("Not run yet.")
            continue
        scratch = Path(tempfile.mkdtemp(prefix="results-"))
        done = sharehouse("report", "eval", run_id, "--out", str(scratch), "--db", str(db))
        target = out_dir / run_id  # the tables as text (CSV, Markdown); figures stay out of the repo
        target.mkdir(parents=True, exist_ok=True)
        for table in [*scratch.glob("*.md"), *scratch.glob("*.csv"), *scratch.glob("settings.json")]:
            shutil.copy2(table, target / table.name)
        shutil.rmtree(scratch, ignore_errors=True)
        if done.returncode != 0:
            parts.append(
                f"No scores yet ({done.stderr.strip().splitlines()[-1] if done.stderr else 'no output'})."
            )
            continue
        for name, title in (
            ("leaderboard.md", "Cross-language leaderboard"),
            ("zscores.md", "Z-scores per language"),
            ("raw.md", "Raw scores per language"),
        ):
            path = target / name
            if path.exists():
                text = "\n" + path.read_text(encoding="utf-8").strip()
                body = text.replace("\n## ", "\n#### ").lstrip("\n")
                parts += [f"### {title}", "", body, ""]
    out = ROOT / "docs" / "results.md"
    out.write_text("\n".join(parts).rstrip() + "\n", encoding="utf-8")
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=ROOT / "sessions" / "results.duckdb")
    parser.add_argument("--yntp", type=Path, default=ROOT.parent / "shared" / "yntp100")
    parser.add_argument("--per-language", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lora-users", type=int, default=3)
    parser.add_argument("--only", choices=["small", "local", "lora", "report"], default=None)
    args = parser.parse_args(argv)
    users = sample_users(args.yntp, args.per_language, args.seed)
    lora = users[: args.lora_users]
    plan = steps()
    print(json.dumps({"users": users, "lora_users": lora}), flush=True)
    args.db.parent.mkdir(parents=True, exist_ok=True)
    ensure_imported(args.db, args.yntp)
    for key, run_id, methods, model in plan:
        if args.only not in (None, key):
            continue
        if run_status(args.db, run_id) == "complete":
            continue
        ok = run_step(args.db, run_id, methods, model, lora if key == "lora" else users, args.seed)
        write_docs(args.db, plan, users, lora)
        if not ok:
            print(f"step {key} ({run_id}) did not finish; run the script again to resume it", flush=True)
    print(f"wrote {write_docs(args.db, plan, users, lora)}", flush=True)


if __name__ == "__main__":
    main()
