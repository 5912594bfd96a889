"""Exporting stored sessions: YNTP-100 files, JSON Lines or Parquet, optionally anonymised.

Everything is written to a temporary file or folder next to the target and renamed into place
at the end, so a failed export leaves nothing half-written. The store is only read. Session
settings (``llm_config``) are never exported. JSON Lines and Parquet carry a study participant's
instruments with their session's turns (self-reported MBTI, questionnaire answers, consent
version); the participant's nickname is never exported, and anonymising looks for it in the texts.

A partitioned Parquet export (``partitioned=True``) writes a folder of Hive-style partitions by
language and run, ``language=en/run_id=<run>/part-0000.parquet``, for runs too big for one file or
for memory: sessions are read from the store a batch at a time (:data:`SESSION_BATCH`), one
partition is written at a time, and each file ends after :data:`PARTITION_FILE_ROWS` turns. Its
files hold every column of the single-file export (the partition columns too), so DuckDB
(``read_parquet('<dir>/**/*.parquet', hive_partitioning = true)``) and ``datasets``
(``load_dataset("parquet", data_dir=<dir>)``) read the folder as one table with the same columns
and rows as the single file. A partition value is percent-encoded in its folder name (DuckDB
decodes it); a session of no run is in ``run_id=__HIVE_DEFAULT_PARTITION__``, which DuckDB reads
as NULL.
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from pydantic import BaseModel, field_validator

from sharehouse.io.anonymize import Anonymizer, ReplacementCounts, SaltSource, resolve_salt
from sharehouse.io.tabular import Row, turn_row, write_jsonl, write_parquet, write_parquet_parts
from sharehouse.io.yntp import LANGUAGE_DIRS, write_yntp_file, yntp_document, yntp_relative_path
from sharehouse.lang import lookup
from sharehouse.store.bulk import load_turns_for
from sharehouse.store.db import Store
from sharehouse.store.records import SessionRecord, TurnRecord
from sharehouse.study.participants import Instruments, session_instruments

ExportFormat = Literal["yntp", "jsonl", "parquet"]
FORMATS: tuple[str, ...] = ("yntp", "jsonl", "parquet")
#: the columns a partitioned Parquet export is partitioned by, outermost first
PARTITION_KEYS: tuple[str, ...] = ("language", "run_id")
#: a partitioned export's folder for a NULL value (the Hive convention, read as NULL by DuckDB)
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
#: turns per file of a partitioned export: some 60 MB at the ~250 bytes a turn bench/bench_export.py
#: measured (zstd); a partition of a 100 000-persona run (about 600 000 turns) is a few files
PARTITION_FILE_ROWS = 250_000
#: sessions a partitioned export reads from the store at a time
SESSION_BATCH = 200


class ExportError(RuntimeError):
    """The export could not be written (the message says why and what to do)."""


class ExportFilters(BaseModel):
    """Which sessions to export; every given filter must match (no filter: all sessions)."""

    run_id: str | None = None
    source: str | None = None
    language: str | None = None
    status: str | None = None
    session_ids: list[str] = []

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        return (lookup(value) or value) if value else value


class ExportReport(BaseModel):
    format: ExportFormat
    out: str
    sessions: int
    turns: int
    files: int
    anonymized: bool
    partitioned: bool = False
    salt_source: SaltSource | None = None
    replacements: ReplacementCounts | None = None
    missing_session_ids: list[str] = []


def select_sessions(store: Store, filters: ExportFilters) -> tuple[list[SessionRecord], list[str]]:
    """The sessions matching ``filters`` and the requested session ids that were not found."""
    sessions = store.list_sessions(
        run_id=filters.run_id,
        source=filters.source,
        language=filters.language,
        status=filters.status,
        ids=filters.session_ids or None,
    )
    missing: list[str] = []
    if filters.session_ids:
        found = {s.id for s in sessions}
        missing = [
            sid
            for sid in dict.fromkeys(filters.session_ids)
            if sid not in found and store.get_session(sid) is None
        ]
    return sessions, missing


def player_nickname(session: SessionRecord, instruments: Instruments | None = None) -> str | None:
    """The nickname a person typed in the game: a study participant's from the participants table,
    else a plain game's user id; None for imported and simulated sessions, whose user ids are file
    names and persona ids."""
    if instruments is not None:
        return instruments.nickname
    return session.user_id if session.kind == "human" and session.origin is None else None


Item = tuple[SessionRecord, list[TurnRecord], Instruments | None]


def _anonymized(
    anon: Anonymizer, session: SessionRecord, turns: list[TurnRecord], instruments: Instruments | None
) -> Item:
    new_id = anon.session_id(session.id)
    sess = session.model_copy(
        update={
            "id": new_id,
            "user_id": anon.user_id(session.user_id),
            "persona_id": anon.persona_id(session.persona_id),
            "origin": None,
            "pending_message": None,
            "pending_npc": None,
            "llm_config": None,
            "failure_reason": None,
        }
    )
    nickname = player_nickname(session, instruments)
    extra = (nickname,) if nickname else ()

    def clean(text: str | None) -> str | None:
        return None if text is None else anon.text(text, extra_names=extra)

    new_turns = [
        t.model_copy(
            update={
                "session_id": new_id,
                "message": clean(t.message),
                "response": clean(t.response),
                "check_reason": clean(t.check_reason),
            }
        )
        for t in turns
    ]
    answers = (
        instruments.model_copy(update={"comment": clean(instruments.comment)})
        if instruments is not None
        else None
    )
    return sess, new_turns, answers


def export_sessions(
    store: Store,
    out: str | Path,
    fmt: ExportFormat,
    *,
    filters: ExportFilters | None = None,
    anonymize: bool = False,
    salt: str | None = None,
    names: tuple[str, ...] | list[str] = (),
    housemates: Iterable[str] = (),
    overwrite: bool = False,
    partitioned: bool = False,
    rows_per_file: int = PARTITION_FILE_ROWS,
) -> ExportReport:
    """Export the sessions matching ``filters`` to ``out`` as ``yntp`` (a folder), ``jsonl`` or ``parquet`` (a file).

    With ``anonymize``, ids become HMAC pseudonyms keyed by ``salt`` (else ``$SHAREHOUSE_ANON_SALT``,
    else a random salt for this export only) and personal data in messages and replies is replaced;
    ``names`` adds personal names to look for (e.g. the personas' names), and each game session's
    player nickname is looked for in that session. ``housemates`` are names never replaced (the
    scenario's NPCs, e.g. from :func:`~sharehouse.io.names.scenario_housemates`); the YNTP-100
    housemates and every speaker name in the exported turns are kept as well. ``overwrite``
    replaces an existing ``out``; without it an existing target is an error.

    ``partitioned`` (``parquet`` only): ``out`` is a folder of partitions by language and run
    (module docstring), files of at most ``rows_per_file`` turns, written without holding the
    export's turns in memory.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r} (expected one of {', '.join(FORMATS)})")
    filters = filters or ExportFilters()
    target = Path(out)
    if partitioned:
        if fmt != "parquet":
            raise ExportError(f"a partitioned export is written as Parquet only, not {fmt}")
        return _export_partitioned(
            store, target, filters, anonymize=anonymize, salt=salt, names=names, housemates=housemates,
            overwrite=overwrite, rows_per_file=rows_per_file,
        )  # fmt: skip
    if target.exists() and not overwrite and not _is_empty_dir(target, fmt):
        raise ExportError(f"{target} already exists; choose another path or allow overwriting")
    sessions, missing = select_sessions(store, filters)
    if fmt == "yntp":
        unknown = sorted({s.language for s in sessions if s.language not in LANGUAGE_DIRS})
        if unknown:
            raise ExportError(
                f"the YNTP layout has no folder for language(s) {', '.join(unknown)}; filter them out with --language"
            )
    turns_by_session = load_turns_for(store, [s.id for s in sessions])
    instruments = session_instruments(store, [s.id for s in sessions]) if fmt != "yntp" else {}

    anon: Anonymizer | None = None
    salt_source: SaltSource | None = None
    if anonymize:
        key, salt_source = resolve_salt(salt)
        speakers = {t.npc for turns in turns_by_session.values() for t in turns}
        anon = Anonymizer(key, names, housemates=[*housemates, *speakers])

    def items() -> Iterator[Item]:
        for session in sessions:
            turns, answers = turns_by_session[session.id], instruments.get(session.id)
            yield (
                _anonymized(anon, session, turns, answers) if anon is not None else (session, turns, answers)
            )

    if fmt == "yntp":
        with _atomic_dir(target, overwrite=overwrite) as tmp:
            n_turns, n_files = _write_yntp(tmp, items())
    else:
        with _atomic_file(target, overwrite=overwrite) as tmp:
            rows = _rows(items())
            n_turns = write_jsonl(tmp, rows) if fmt == "jsonl" else write_parquet(tmp, rows)
        n_files = 1
    return ExportReport(
        format=fmt,
        out=str(target),
        sessions=len(sessions),
        turns=n_turns,
        files=n_files,
        anonymized=anonymize,
        salt_source=salt_source,
        replacements=anon.counts if anon is not None else None,
        missing_session_ids=missing,
    )


def partition_path(language: str, run_id: str | None) -> Path:
    """The folder of one partition, relative to the export's: ``language=<l>/run_id=<r>``, each
    value percent-encoded (every byte but letters, digits and ``-._~``), NULL as :data:`NULL_PARTITION`."""
    return Path(
        *(
            f"{key}={_hive_value(value)}"
            for key, value in zip(PARTITION_KEYS, (language, run_id), strict=True)
        )
    )


def _hive_value(value: str | None) -> str:
    if value is None:
        return NULL_PARTITION
    encoded = quote(value, safe="")
    # the literal text of the NULL folder is written with its underscores encoded, so it stays text
    return encoded.replace("_", "%5F") if encoded == NULL_PARTITION else encoded


def _export_partitioned(
    store: Store,
    target: Path,
    filters: ExportFilters,
    *,
    anonymize: bool,
    salt: str | None,
    names: tuple[str, ...] | list[str],
    housemates: Iterable[str],
    overwrite: bool,
    rows_per_file: int,
) -> ExportReport:
    if rows_per_file < 1:
        raise ExportError(f"rows per file must be at least 1, not {rows_per_file}")
    if target.exists() and not target.is_dir():
        raise ExportError(f"{target} is a file; a partitioned export writes a folder")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise ExportError(
            f"{target} already exists and is not empty; choose another folder or allow overwriting"
        )
    keys = store.session_partitions(
        run_id=filters.run_id, source=filters.source, language=filters.language, status=filters.status,
        ids=filters.session_ids or None,
    )  # fmt: skip
    ids = [sid for sid, _, _ in keys]
    missing: list[str] = []
    if filters.session_ids:
        found = set(ids)
        missing = [
            sid
            for sid in dict.fromkeys(filters.session_ids)
            if sid not in found and store.get_session(sid) is None
        ]
    anon: Anonymizer | None = None
    salt_source: SaltSource | None = None
    if anonymize:
        key, salt_source = resolve_salt(salt)
        anon = Anonymizer(key, names, housemates=[*housemates, *_speakers(store, ids)])

    n_sessions = n_turns = n_files = 0
    with _atomic_dir(target, overwrite=overwrite) as tmp:
        items = _items_in_batches(store, ids, anon)
        for (language, run_id), group in itertools.groupby(
            items, key=lambda it: (it[0].language, it[0].run_id)
        ):
            sessions = _Counted(group)
            counts = write_parquet_parts(
                tmp / partition_path(language, run_id), _rows(iter(sessions)), rows_per_file
            )
            n_sessions += sessions.n
            n_turns += sum(counts)
            n_files += len(counts)
    return ExportReport(
        format="parquet",
        out=str(target),
        sessions=n_sessions,
        turns=n_turns,
        files=n_files,
        anonymized=anonymize,
        partitioned=True,
        salt_source=salt_source,
        replacements=anon.counts if anon is not None else None,
        missing_session_ids=missing,
    )


class _Counted:
    """An iterable that counts the items taken from it."""

    def __init__(self, items: Iterable[Item]) -> None:
        self._items = items
        self.n = 0

    def __iter__(self) -> Iterator[Item]:
        for item in self._items:
            self.n += 1
            yield item


def _speakers(store: Store, session_ids: Sequence[str]) -> list[str]:
    """Every speaker name in the turns of the sessions (the names anonymising keeps)."""
    names: set[str] = set()
    for start in range(0, len(session_ids), SESSION_BATCH):
        chunk = list(session_ids[start : start + SESSION_BATCH])
        rows = store.fetchall(
            "SELECT DISTINCT npc FROM turns WHERE session_id IN (SELECT unnest(?::VARCHAR[]))", [chunk]
        )
        names.update(str(r[0]) for r in rows)
    return sorted(names)


def _items_in_batches(store: Store, session_ids: Sequence[str], anon: Anonymizer | None) -> Iterator[Item]:
    """The sessions in the given order with their turns and instruments (anonymised when ``anon``),
    read :data:`SESSION_BATCH` sessions at a time. A session deleted meanwhile is left out."""
    for start in range(0, len(session_ids), SESSION_BATCH):
        chunk = list(session_ids[start : start + SESSION_BATCH])
        by_id = {s.id: s for s in store.list_sessions(ids=chunk)}
        turns = load_turns_for(store, chunk)
        answers = session_instruments(store, chunk)
        for sid in chunk:
            session = by_id.get(sid)
            if session is None:
                continue
            item = (session, turns[sid], answers.get(sid))
            yield _anonymized(anon, *item) if anon is not None else item


def _rows(items: Iterator[Item]) -> Iterator[Row]:
    for session, turns, instruments in items:
        answers = instruments.model_dump(exclude={"nickname"}) if instruments is not None else None
        for turn in turns:
            yield turn_row(session, turn, answers)


def _write_yntp(root: Path, items: Iterator[Item]) -> tuple[int, int]:
    taken: set[str] = set()
    n_turns = n_files = 0
    for folder in sorted(set(LANGUAGE_DIRS.values())):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for session, turns, _ in items:  # the YNTP format has no place for the instruments
        rel = yntp_relative_path(session.language, session.user_id, taken)
        write_yntp_file(root / rel, yntp_document(turns))
        n_turns += len(turns)
        n_files += 1
    return n_turns, n_files


@contextmanager
def _atomic_file(target: Path, *, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target`` in one rename."""
    if target.is_dir():
        raise ExportError(f"{target} is a folder; give a file name for this format")
    _make_parent(target)
    tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        yield tmp
        if target.exists() and not overwrite:
            raise ExportError(f"{target} appeared while exporting; nothing was written")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _atomic_dir(target: Path, *, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; on success it takes ``target``'s place."""
    if target.exists() and not target.is_dir():
        raise ExportError(f"{target} is a file; the yntp format writes a folder")
    _make_parent(target)
    tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    old: Path | None = None
    try:
        yield tmp
        if target.exists():
            if not overwrite and any(target.iterdir()):
                raise ExportError(f"{target} appeared while exporting; nothing was written")
            old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(target, old)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _is_empty_dir(target: Path, fmt: str) -> bool:
    return fmt == "yntp" and target.is_dir() and not any(target.iterdir())


def _make_parent(target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create the folder {target.parent}: {exc.strerror or exc}") from exc
