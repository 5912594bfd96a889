"""Exporting stored sessions: YNTP-100 files, JSON Lines or Parquet, optionally anonymised.

Everything is written to a temporary file or folder next to the target and renamed into place
at the end, so a failed export leaves nothing half-written. The store is only read. Session
settings (``llm_config``) are never exported. JSON Lines and Parquet carry a study participant's
instruments with their session's turns (self-reported MBTI, questionnaire answers, consent
version); the participant's nickname is never exported, and anonymising looks for it in the texts.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, field_validator

from sharehouse.io.anonymize import Anonymizer, ReplacementCounts, SaltSource, resolve_salt
from sharehouse.io.tabular import Row, turn_row, write_jsonl, write_parquet
from sharehouse.io.yntp import LANGUAGE_DIRS, write_yntp_file, yntp_document, yntp_relative_path
from sharehouse.lang import lookup
from sharehouse.store.bulk import load_turns_for
from sharehouse.store.db import Store
from sharehouse.store.records import SessionRecord, TurnRecord
from sharehouse.study.participants import Instruments, session_instruments

ExportFormat = Literal["yntp", "jsonl", "parquet"]
FORMATS: tuple[str, ...] = ("yntp", "jsonl", "parquet")


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
) -> ExportReport:
    """Export the sessions matching ``filters`` to ``out`` as ``yntp`` (a folder), ``jsonl`` or ``parquet`` (a file).

    With ``anonymize``, ids become HMAC pseudonyms keyed by ``salt`` (else ``$SHAREHOUSE_ANON_SALT``,
    else a random salt for this export only) and personal data in messages and replies is replaced;
    ``names`` adds personal names to look for (e.g. the personas' names), and each game session's
    player nickname is looked for in that session. ``housemates`` are names never replaced (the
    scenario's NPCs, e.g. from :func:`~sharehouse.io.names.scenario_housemates`); the YNTP-100
    housemates and every speaker name in the exported turns are kept as well. ``overwrite``
    replaces an existing ``out``; without it an existing target is an error.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r} (expected one of {', '.join(FORMATS)})")
    filters = filters or ExportFilters()
    target = Path(out)
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
