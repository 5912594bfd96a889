"""A tiny run of bench/bench_scoring.py: three users, every run measured, the section written."""

from __future__ import annotations

from pathlib import Path

from bench import bench_scoring


def test_bench_scoring_smoke(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmarks\n\n## Other (kept)\n\nkeep me\n", encoding="utf-8")
    fig = bench_scoring.main(["--per-language", "1", "--naive-sample", "1", "--results", str(results)])
    assert fig.users == 3 and fig.pairs > 0
    cold = fig.run("cold (load + empty caches)")
    warm = fig.run("warm (every vector from DuckDB)")
    new = fig.run("new predictions (history and references from DuckDB)")
    assert warm.encoder_s == 0.0  # every vector came from the store
    assert new.encoder_s > 0.0  # the echoed messages had never been embedded
    assert cold.wall_s > 0 and fig.naive_total_s > 0
    text = results.read_text(encoding="utf-8")
    assert "## Scoring (bench/bench_scoring.py)" in text and "keep me" in text
    assert "new predictions" in text and "nproc" in text
