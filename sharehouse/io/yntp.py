"""The YNTP-100 file layout: read a directory of them into the store, write sessions back out.

Layout: ``{lang}/{lang}_N.json`` with ``lang`` one of ``en``, ``cn``, ``jp``; each file is one
person, an object with keys ``day_1`` … ``day_5`` (more ``day_N`` keys are allowed), each a list of
turns ``{"speaker", "message", "response"}`` in the order they were played.

Importing is per file: each file is parsed and checked completely, then written in its own
transaction, so a bad file leaves nothing of itself behind and the good files still import. Text
fields longer than ``MAX_INPUT_CHARS`` (20 000) characters are cut to that length; the report
lists each cut field with its file and JSON path.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sharehouse.lang import DIR_LANGUAGES as DIR_LANGUAGES
from sharehouse.lang import LANGUAGE_DIRS as LANGUAGE_DIRS
from sharehouse.store.bulk import insert_turns, load_turns_for
from sharehouse.store.db import Store
from sharehouse.store.records import SessionRecord, TurnRecord
from sharehouse.textclean import MAX_INPUT_CHARS, sanitize_input

REQUIRED_DAYS: tuple[int, ...] = (1, 2, 3, 4, 5)
TURN_FIELDS: tuple[str, ...] = ("speaker", "message", "response")
DEFAULT_SOURCE = "yntp100"
_DAY_KEY = re.compile(r"^day_([1-9][0-9]*)$")
_MAX_ERRORS_PER_FILE = 20


class YntpImportError(ValueError):
    """The import cannot start at all (the directory is missing or is not a directory)."""


class YntpTurn(BaseModel):
    day: int
    idx: int
    speaker: str
    message: str
    response: str


class ImportedFile(BaseModel):
    file: str
    session_id: str
    user_id: str
    language: str
    turns: int
    reason: str | None = None
    truncated: list[str] = []  # JSON paths of fields cut to MAX_INPUT_CHARS characters


class FailedFile(BaseModel):
    file: str
    errors: list[str]

    def lines(self) -> list[str]:
        """Each problem as ``file: $.path: message``."""
        return [f"{self.file}: {e}" for e in self.errors]


class ImportReport(BaseModel):
    directory: str
    source: str
    imported: list[ImportedFile] = []
    skipped: list[ImportedFile] = []
    replaced: list[ImportedFile] = []
    failed: list[FailedFile] = []

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def turns_written(self) -> int:
        return sum(f.turns for f in self.imported) + sum(f.turns for f in self.replaced)

    def error_lines(self) -> list[str]:
        return [line for f in self.failed for line in f.lines()]

    @property
    def truncated_files(self) -> list[ImportedFile]:
        """The stored files (imported, replaced or unchanged) that had fields over the length cap."""
        return [f for f in (*self.imported, *self.replaced, *self.skipped) if f.truncated]

    @property
    def truncated_fields(self) -> int:
        return sum(len(f.truncated) for f in self.truncated_files)

    def truncation_lines(self) -> list[str]:
        """Each cut field as ``file: $.path: cut to N characters``."""
        return [
            f"{f.file}: {where}: longer than {MAX_INPUT_CHARS} characters, cut to {MAX_INPUT_CHARS}"
            for f in self.truncated_files
            for where in f.truncated
        ]


class _FileProblems(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def session_id_for(source: str, origin: str) -> str:
    """The deterministic id of an imported file: the same source and file give the same id."""
    digest = hashlib.sha1(f"{source}\x00{origin}".encode()).hexdigest()
    return f"yntp-{digest[:12]}"


def _natural_key(path: Path) -> tuple[Any, ...]:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.as_posix()))


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _FileProblems([f"$.{key}: duplicate key"])
        seen[key] = value
    return seen


def _clean_field(value: str) -> tuple[str, bool]:
    """``sanitize_input(value)`` and whether the length cap cut it."""
    full = sanitize_input(value, max_chars=len(value) * 4 + 1)  # NFC can lengthen, never by 4x
    if len(full) <= MAX_INPUT_CHARS:
        return full, False
    return full[:MAX_INPUT_CHARS].rstrip(), True


def parse_yntp_bytes(raw: bytes, truncated: list[str] | None = None) -> list[YntpTurn]:
    """Parse and check one file; raises ``_FileProblems`` listing every problem with its JSON path.

    Text is sanitised (control characters and terminal escapes removed, newlines kept) and capped at
    ``MAX_INPUT_CHARS`` characters; the JSON path of each field that was cut is appended to
    ``truncated`` when given.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 1].hex()
        raise _FileProblems([f"not valid UTF-8 (byte 0x{bad} at offset {exc.start})"]) from None
    try:
        data = json.loads(text, object_pairs_hook=_reject_duplicates)
    except json.JSONDecodeError as exc:
        raise _FileProblems([f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"]) from None
    if not isinstance(data, dict):
        raise _FileProblems([f"$: expected an object with keys day_1 … day_5, got {_kind(data)}"])
    errors: list[str] = []
    days: dict[int, Any] = {}
    for key, value in data.items():
        m = _DAY_KEY.match(key)
        if not m:
            errors.append(f"$.{_key_repr(key)}: unexpected key (expected day_1 … day_5)")
            continue
        days[int(m.group(1))] = value
    for day in REQUIRED_DAYS:
        if day not in days:
            errors.append(f"$.day_{day}: missing")
    turns: list[YntpTurn] = []
    for day in sorted(days):
        value = days[day]
        where = f"$.day_{day}"
        if not isinstance(value, list):
            errors.append(f"{where}: expected a list of turns, got {_kind(value)}")
            continue
        for idx, item in enumerate(value):
            at = f"{where}[{idx}]"
            if not isinstance(item, dict):
                errors.append(
                    f"{at}: expected an object with speaker, message and response, got {_kind(item)}"
                )
                continue
            fields: dict[str, str] = {}
            for name in TURN_FIELDS:
                if name not in item:
                    errors.append(f"{at}.{name}: missing")
                elif not isinstance(item[name], str):
                    errors.append(f"{at}.{name}: expected a string, got {_kind(item[name])}")
                else:
                    fields[name], cut = _clean_field(item[name])
                    if cut and truncated is not None:
                        truncated.append(f"{at}.{name}")
            for name in item:
                if name not in TURN_FIELDS:
                    errors.append(
                        f"{at}.{_key_repr(name)}: unexpected field (expected speaker, message, response)"
                    )
            if len(fields) == len(TURN_FIELDS):
                turns.append(YntpTurn(day=day, idx=idx, **fields))
    if errors:
        if len(errors) > _MAX_ERRORS_PER_FILE:
            extra = len(errors) - _MAX_ERRORS_PER_FILE
            errors = errors[:_MAX_ERRORS_PER_FILE] + [f"… and {extra} more problem(s)"]
        raise _FileProblems(errors)
    return turns


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def _key_repr(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else json.dumps(key, ensure_ascii=False)


def imported_turns(session_id: str, turns: Sequence[YntpTurn]) -> list[TurnRecord]:
    """The turns of a parsed YNTP-100 file as the store's records (verdict ``imported``)."""
    return [
        TurnRecord(
            session_id=session_id,
            day=t.day,
            idx=t.idx,
            npc=t.speaker,
            message=t.message,
            response=t.response,
            verdict="imported",
        )
        for t in turns
    ]


def _content_hash(language: str, user_id: str, turns: Iterable[tuple[int, int, str, str, str]]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([language, user_id], ensure_ascii=False).encode())
    for turn in turns:
        h.update(json.dumps(list(turn), ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()


def yntp_files(directory: Path) -> list[Path]:
    """The ``*/*.json`` files of a dataset directory, in natural order (``en_2`` before ``en_10``)."""
    return sorted((p for p in directory.glob("*/*.json") if p.is_file()), key=_natural_key)


def import_yntp(store: Store, directory: str | Path, *, source: str = DEFAULT_SOURCE) -> ImportReport:
    """Import every ``{lang}/{lang}_N.json`` file under ``directory`` as a completed human session.

    Each file becomes one session (id from ``source`` and the relative file name, so importing
    again finds it): unchanged files are skipped, changed ones replaced, bad ones reported with
    the JSON path of each problem while the others import.
    """
    root = Path(directory)
    if not root.exists():
        raise YntpImportError(f"no such directory: {root}")
    if not root.is_dir():
        raise YntpImportError(f"not a directory: {root}")
    report = ImportReport(directory=str(root), source=source)
    for path in yntp_files(root):
        origin = path.relative_to(root).as_posix()
        language = DIR_LANGUAGES.get(path.parent.name)
        if language is None:
            known = ", ".join(sorted(k for k in DIR_LANGUAGES if k in LANGUAGE_DIRS.values()))
            report.failed.append(
                FailedFile(
                    file=origin, errors=[f"unknown language folder {path.parent.name!r} (expected {known})"]
                )
            )
            continue
        try:
            raw = path.read_bytes()
        except OSError as exc:
            report.failed.append(FailedFile(file=origin, errors=[f"cannot read: {exc.strerror or exc}"]))
            continue
        truncated: list[str] = []
        try:
            turns = parse_yntp_bytes(raw, truncated)
        except _FileProblems as exc:
            report.failed.append(FailedFile(file=origin, errors=exc.errors))
            continue
        _store_file(
            store,
            report,
            source=source,
            origin=origin,
            user_id=path.stem,
            language=language,
            turns=turns,
            truncated=truncated,
        )
    return report


def _store_file(
    store: Store,
    report: ImportReport,
    *,
    source: str,
    origin: str,
    user_id: str,
    language: str,
    turns: Sequence[YntpTurn],
    truncated: list[str],
) -> None:
    sid = session_id_for(source, origin)
    new_hash = _content_hash(
        language, user_id, ((t.day, t.idx, t.speaker, t.message, t.response) for t in turns)
    )
    entry = ImportedFile(
        file=origin, session_id=sid, user_id=user_id, language=language, turns=len(turns), truncated=truncated
    )
    records = imported_turns(sid, turns)
    session = SessionRecord(
        id=sid,
        kind="human",
        source=source,
        user_id=user_id,
        language=language,
        status="complete",
        origin=origin,
    )
    try:
        with store.transaction():
            existing = store.get_session(sid)
            if existing is not None:
                old_turns = load_turns_for(store, [sid])[sid]
                old_hash = _content_hash(
                    existing.language,
                    existing.user_id,
                    ((t.day, t.idx, t.npc, t.message, t.response) for t in old_turns),
                )
                if old_hash == new_hash:
                    entry.reason = "already imported, unchanged"
                    report.skipped.append(entry)
                    return
                store.delete_session(sid)
                entry.reason = f"content changed ({len(old_turns)} turns before, {len(records)} now)"
            store.create_session(session)
            insert_turns(store, records)
    except Exception as exc:  # a database problem with this file: report it, keep importing the rest
        report.failed.append(FailedFile(file=origin, errors=[f"could not store: {exc}"]))
        return
    (report.replaced if existing is not None else report.imported).append(entry)


# -- export ---------------------------------------------------------------------------------------
_UNSAFE_NAME = re.compile(r"[^\w.-]+", re.UNICODE)


def safe_file_stem(name: str) -> str:
    """A file stem made of word characters, dots and hyphens (never empty, never hidden)."""
    stem = _UNSAFE_NAME.sub("_", name).strip("._") or "user"
    return stem[:120]


def yntp_document(turns: Iterable[TurnRecord]) -> dict[str, list[dict[str, str]]]:
    """One person's file content: ``day_1`` … ``day_5`` (plus any later day that has turns)."""
    by_day: dict[int, list[TurnRecord]] = {d: [] for d in REQUIRED_DAYS}
    for turn in turns:
        by_day.setdefault(turn.day, []).append(turn)
    return {
        f"day_{day}": [
            {"speaker": t.npc, "message": t.message, "response": t.response}
            for t in sorted(by_day[day], key=lambda t: t.idx)
        ]
        for day in sorted(by_day)
    }


def yntp_relative_path(language: str, user_id: str, taken: set[str]) -> str:
    """``{cn|en|jp}/{user}.json``, with ``-2``, ``-3`` … added when the name is already taken."""
    folder = LANGUAGE_DIRS.get(language)
    if folder is None:
        raise ValueError(
            f"language {language!r} has no YNTP folder (expected one of {', '.join(LANGUAGE_DIRS)})"
        )
    stem = safe_file_stem(user_id)
    candidate = f"{folder}/{stem}.json"
    n = 2
    while candidate.lower() in taken:
        candidate = f"{folder}/{stem}-{n}.json"
        n += 1
    taken.add(candidate.lower())
    return candidate


def write_yntp_file(path: Path, document: dict[str, list[dict[str, str]]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
