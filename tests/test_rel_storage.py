"""Storage that cannot be written: a read-only database or folder, a file where a folder is
expected, a disk that fills up. Each gives a clear error and leaves nothing half-written."""

from __future__ import annotations

import hashlib
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from faultserver import FaultConfig, FaultServer, cli_env, sharehouse_argv

from sharehouse.io.yntp import yntp_files
from sharehouse.store import Store, StoreError
from sharehouse.store.integrity import check_integrity


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(*args: str, preexec: Callable[[], None] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        sharehouse_argv(*args), env=cli_env(), capture_output=True, text=True, timeout=180, preexec_fn=preexec
    )


def _respect_permissions() -> None:
    """Make the child obey file permissions even when the tests run as root: drop the capabilities
    that let root read and write anything (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) from its bounding
    set, so the program it runs never has them. As another user, permissions already apply."""
    if os.geteuid() != 0:
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_dac_override, cap_dac_read_search = 24, 1, 2
    for cap in (cap_dac_override, cap_dac_read_search):
        if libc.prctl(pr_capbset_drop, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "ro"
    path.mkdir()
    yield path
    path.chmod(0o755)


def test_file_where_a_folder_is_expected(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create the directory"):
        Store(blocker / "db.duckdb")
    # Reading commands open the store read-only: nothing to create, the database is just not there.
    out = _run("sessions", "list", "--db", str(blocker / "db.duckdb"))
    assert out.returncode == 2
    assert "no database at" in out.stderr
    assert "Traceback" not in out.stderr
    assert blocker.read_text() == "x"


def test_database_path_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "db.duckdb").mkdir()
    out = _run("sessions", "list", "--db", str(tmp_path / "db.duckdb"))
    assert out.returncode == 2
    assert "cannot open the database" in out.stderr
    assert "Traceback" not in out.stderr


def test_new_database_in_a_read_only_folder(read_only_dir: Path) -> None:
    ro = read_only_dir
    ro.chmod(0o555)
    out = _run(
        "import", "yntp", str(ro / "none"), "--db", str(ro / "db.duckdb"), preexec=_respect_permissions
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert "cannot open the database" in out.stderr
    assert "Traceback" not in out.stderr
    assert list(ro.iterdir()) == []


def test_read_only_database_file(read_only_dir: Path, shared_dir: Path) -> None:
    db = read_only_dir / "db.duckdb"
    with Store(db) as store:
        assert store.list_sessions() == []
    db.chmod(0o444)
    read_only_dir.chmod(0o555)
    before = _digest(db)
    out = _run("import", "yntp", str(shared_dir / "yntp100"), "--db", str(db), preexec=_respect_permissions)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "cannot open the database" in out.stderr and "for writing" in out.stderr
    assert "Traceback" not in out.stderr
    assert _digest(db) == before
    assert not Path(str(db) + ".wal").exists()


def _limit_file_size(limit: int) -> Callable[[], None]:
    """A full disk for one process: writes past ``limit`` bytes fail (EFBIG) instead of killing it."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_disk_full_during_import(tmp_path: Path, shared_dir: Path) -> None:
    dataset = shared_dir / "yntp100"
    db = tmp_path / "full.duckdb"
    Store(db).close()
    out = _run(
        "import", "yntp", str(dataset), "--db", str(db), preexec=_limit_file_size(db.stat().st_size + 100_000)
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert "could not store" in out.stderr and "File too large" in out.stderr

    files = {f.relative_to(dataset).as_posix(): f for f in yntp_files(dataset)}
    with Store(db) as store:
        assert check_integrity(store) == []
        stored = store.list_sessions(source="yntp100")
        assert 0 < len(stored) < len(files)
        counts = store.turn_counts([s.id for s in stored])
        for rec in stored:
            # Every file is all in or all out: never a session with part of its turns.
            raw = __import__("json").loads(files[rec.origin or ""].read_text("utf-8-sig"))
            assert counts.get(rec.id, 0) == sum(len(v) for v in raw.values())
    # With room again, the same import brings in exactly the rest.
    again = _run("import", "yntp", str(dataset), "--db", str(db))
    assert again.returncode == 0, again.stderr
    with Store(db, read_only=True) as store:
        assert len(store.list_sessions(source="yntp100")) == len(files)
        assert check_integrity(store) == []


def test_disk_full_during_simulate(tmp_path: Path) -> None:
    db = tmp_path / "sim.duckdb"
    Store(db).close()
    with FaultServer(FaultConfig(lifetime_s=200)) as srv:
        args = (
            "simulate", "--db", str(db), "--model", "openai/fake", "--api-base", srv.api_base, "--run", "full",
            "--personas", "3", "--days", "5", "--concurrency", "3", "--no-progress",
        )  # fmt: skip
        out = _run(*args, preexec=_limit_file_size(30_000))
        assert out.returncode == 2, out.stdout[-3000:] + out.stderr[-3000:]
        assert "Traceback" not in out.stderr
        assert "error:" in out.stderr and "File too large" in out.stderr
        with Store(db) as store:
            assert check_integrity(store) == []
            for rec in store.list_sessions(run_id="full"):
                turns = store.load_turns(rec.id)
                # The stored position is right after the last stored turn.
                assert rec.status in ("active", "complete")
                assert len({(t.day, t.idx) for t in turns}) == len(turns)
        done = _run(*args)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with Store(db, read_only=True) as store:
        assert check_integrity(store) == []
        assert {s.status for s in store.list_sessions(run_id="full")} == {"complete"}


def test_store_error_names_the_path(tmp_path: Path) -> None:
    bad = tmp_path / "garbage.duckdb"
    bad.write_bytes(b"this is not a database file" * 100)
    with pytest.raises(StoreError, match=str(bad)):
        Store(bad)
    out = _run("sessions", "list", "--db", str(bad))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert bad.read_bytes() == b"this is not a database file" * 100
    assert sys.executable  # the CLI ran with this interpreter


def test_a_file_truncated_on_disk_keeps_its_imported_version(tmp_path: Path, shared_dir: Path) -> None:
    from sharehouse.io import import_yntp

    data = tmp_path / "data" / "en"
    data.mkdir(parents=True)
    original = (shared_dir / "yntp100" / "en" / "en_1.json").read_bytes()
    (data / "en_1.json").write_bytes(original)
    with Store(tmp_path / "s.duckdb") as store:
        assert import_yntp(store, data.parent).ok
        (sid,) = [s.id for s in store.list_sessions()]
        before = [t.model_dump(exclude={"created_at"}) for t in store.load_turns(sid)]
        (data / "en_1.json").write_bytes(original[: len(original) // 2])  # a copy cut short
        report = import_yntp(store, data.parent)
        assert [f.file for f in report.failed] == ["en/en_1.json"]
        assert report.failed[0].errors[0].startswith("not JSON")
        assert [t.model_dump(exclude={"created_at"}) for t in store.load_turns(sid)] == before
        assert check_integrity(store) == []
