"""``sharehouse score`` on bad input and a full disk. A line that is not UTF-8 is reported with
its line number and skipped like any other bad line (no traceback). The scores file is written to
a temporary file that is then renamed over the target. A write that fails half-way leaves the
earlier file as it was and no partial file."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import typer
from faultserver import REPO, cli_env
from typer.testing import CliRunner

from evaluator.cli_score import read_pairs, register, write_scores
from evaluator.scoring import TurnScores

GOOD = {"user": "en_1", "language": "en", "message": "Plans?", "reference": "A walk.", "prediction": "A nap."}


def _line(**extra: str) -> bytes:
    return json.dumps({**GOOD, **extra}).encode() + b"\n"


def test_a_line_that_is_not_utf8_is_reported_and_skipped(tmp_path: Path) -> None:
    bad = b'{"user": "en_2", "language": "en", "message": "caf\xe9?", "reference": "x", "prediction": "y"}\n'
    path = tmp_path / "pred.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf" + _line() + bad + _line(user="en_3") + b"\n" + b"{not json\n" + b"\xff\xfe\n"
    )
    pairs, errors = read_pairs(path)
    assert [p.user for p in pairs] == [
        "en_1",
        "en_3",
    ]  # the BOM of line 1 is no error; blank line 4 is skipped
    column = bad.index(b"\xe9") + 1
    assert errors[0] == (2, f"not valid UTF-8 (byte 0xe9 at column {column})")
    assert errors[1][0] == 5 and errors[1][1].startswith("not JSON")
    assert errors[2] == (6, "not valid UTF-8 (byte 0xff at column 1)")


def test_score_command_reports_the_bad_bytes_without_a_traceback(tmp_path: Path) -> None:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test app."""

    register(app)
    path = tmp_path / "latin1.jsonl"
    path.write_bytes("Ünïcödé".encode("latin-1") + b"\n")
    res = CliRunner().invoke(app, ["score", str(path)])
    assert res.exit_code == 1
    assert isinstance(res.exception, SystemExit)
    out = " ".join(res.output.split())
    assert f"{path}:1: skipped: not valid UTF-8 (byte 0xdc at column 1)" in out
    assert "no valid lines to score" in out


def _scores(n: int) -> list[TurnScores]:
    return [
        TurnScores(
            user=f"u{i}", language="en", message="m" * 200, m1=0.1, m2=0.2, m3=0.3, m4=0.4, m5=0.5, m6=None
        )
        for i in range(n)
    ]


WRITER = textwrap.dedent(
    """
    import resource, signal, sys
    from pathlib import Path
    from evaluator.cli_score import write_scores
    from evaluator.scoring import TurnScores

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), int(sys.argv[2])))
    rows = [TurnScores(user=f"u{i}", language="en", message="m" * 200, m1=0.1, m2=0.2, m3=0.3, m4=0.4, m5=0.5,
                       m6=None) for i in range(int(sys.argv[3]))]
    try:
        write_scores(Path(sys.argv[1]), rows)
    except OSError as exc:
        print("failed", exc.errno, flush=True)
    else:
        print("written", flush=True)
    """
)


def test_a_full_disk_leaves_the_earlier_scores_whole(tmp_path: Path) -> None:
    target = tmp_path / "out" / "pred.scores.jsonl"
    write_scores(target, _scores(3))
    before = target.read_bytes()
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert before.count(b"\n") == 3
    assert target.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777  # the usual permissions
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    # 200 rows need ~80 kB; writes past 20 kB fail with EFBIG, as on a full disk.
    run = subprocess.run(
        [sys.executable, str(script), str(target), "20000", "200"],
        env=cli_env(PYTHONPATH=str(REPO)), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.stdout.split() == ["failed", "27"], run.stdout + run.stderr  # EFBIG
    assert target.read_bytes() == before, "the earlier scores were damaged"
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name], "a partial file was left"
    # With room again the whole file is written.
    write_scores(target, _scores(200))
    assert target.read_bytes().count(b"\n") == 200
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]
