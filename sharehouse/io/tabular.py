"""One row per turn: the JSON Lines and Parquet export formats.

Columns (in this order): see :data:`COLUMNS`. ``split`` is ``train`` for days 1–4 (the person's
history) and ``test`` for day 5 and later. ``check_by`` says how the reply check decided (``rule``,
``llm``, or ``fallback`` when the judge was unavailable and a substantive reply was accepted),
``check_reason`` why; ``npc_fallback`` marks turns where the scenario's written line stood in for an
unusable model line, ``reply_fallback`` turns where a simulated user's canned reply was used.
``npc_rejected`` counts the generated housemate lines the guard rejected before the shown one, and
``npc_reject_reasons`` lists why (``echo``, ``repeat``, ``markup``, ``no-question``, ...; see
:mod:`sharehouse.engine.npc_guard`). These are empty (null) for turns the engine did not play
(imports) or stored before they existed.
The participant instruments of a study session follow (:data:`INSTRUMENT_COLUMNS`): the
self-reported MBTI type (``self_mbti``: one of the 16 types or ``unknown``), the post-game
``age_band``, ``naturalness`` (1–5) and ``comment``, and the ``consent_version`` agreed to. They
repeat on every turn of the session and are null for sessions of no study participant and for
answers not given.
Parquet files carry the explicit :func:`parquet_schema`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from sharehouse.store.records import SessionRecord, TurnRecord

#: The participant instruments, exported with each turn of a study participant's session.
INSTRUMENT_COLUMNS: tuple[str, ...] = ("self_mbti", "age_band", "naturalness", "comment", "consent_version")
COLUMNS: tuple[str, ...] = (
    "session_id", "user_id", "persona_id", "kind", "source", "run_id", "language", "day", "idx", "npc",
    "state_id", "mbti", "message", "response", "verdict", "is_followup", "check_by", "check_reason",
    "npc_fallback", "reply_fallback", "npc_rejected", "npc_reject_reasons", "split", *INSTRUMENT_COLUMNS,
)  # fmt: skip
TRAIN_DAYS: tuple[int, ...] = (1, 2, 3, 4)
#: Turns per Parquet row group.
ROW_GROUP_ROWS = 10_000

Row = dict[str, Any]


def split_for_day(day: int) -> Literal["train", "test"]:
    return "train" if day in TRAIN_DAYS else "test"


def turn_row(session: SessionRecord, turn: TurnRecord, instruments: Mapping[str, Any] | None = None) -> Row:
    """The export row of one turn (ids and text as given: anonymise before calling). ``instruments``:
    the session's participant answers by column of :data:`INSTRUMENT_COLUMNS` (absent ones are null)."""
    answers = instruments or {}
    return {
        "session_id": session.id,
        "user_id": session.user_id,
        "persona_id": session.persona_id,
        "kind": session.kind,
        "source": session.source,
        "run_id": session.run_id,
        "language": session.language,
        "day": turn.day,
        "idx": turn.idx,
        "npc": turn.npc,
        "state_id": turn.state_id,
        "mbti": turn.mbti,
        "message": turn.message,
        "response": turn.response,
        "verdict": turn.verdict,
        "is_followup": turn.is_followup,
        "check_by": turn.check_by,
        "check_reason": turn.check_reason,
        "npc_fallback": turn.npc_fallback,
        "reply_fallback": turn.reply_fallback,
        "npc_rejected": turn.npc_rejected,
        "npc_reject_reasons": _reasons(turn.npc_reject_reasons),
        "split": split_for_day(turn.day),
        **{c: answers.get(c) for c in INSTRUMENT_COLUMNS},
    }


def _reasons(stored: str | None) -> list[str] | None:
    """The stored JSON list of rejection reasons as a list (None when not recorded)."""
    if stored is None:
        return None
    value = json.loads(stored)
    return [str(v) for v in value] if isinstance(value, list) else None


def jsonl_line(row: Row) -> str:
    """One JSON object on one line. U+2028/U+2029 are escaped so no line splitter breaks a row."""
    text = json.dumps({c: row[c] for c in COLUMNS}, ensure_ascii=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def write_jsonl(path: Path, rows: Iterable[Row]) -> int:
    """Write rows as UTF-8 JSON Lines; returns the number of rows."""
    n = 0
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            fh.write(jsonl_line(row))
            fh.write("\n")
            n += 1
    return n


def parquet_schema() -> Any:
    """The explicit Arrow schema of the Parquet export (pyarrow is imported when needed)."""
    import pyarrow as pa

    nullable_text = {
        "persona_id", "run_id", "state_id", "mbti", "verdict", "check_by", "check_reason", *INSTRUMENT_COLUMNS,
    }  # fmt: skip
    fields = []
    for name in COLUMNS:
        if name in ("day", "idx"):
            fields.append(pa.field(name, pa.int32(), nullable=False))
        elif name == "is_followup":
            fields.append(pa.field(name, pa.bool_(), nullable=False))
        elif name in ("npc_fallback", "reply_fallback"):
            fields.append(pa.field(name, pa.bool_(), nullable=True))
        elif name in ("npc_rejected", "naturalness"):
            fields.append(pa.field(name, pa.int32(), nullable=True))
        elif name == "npc_reject_reasons":
            fields.append(pa.field(name, pa.list_(pa.string()), nullable=True))
        else:
            fields.append(pa.field(name, pa.string(), nullable=name in nullable_text))
    return pa.schema(fields, metadata={b"format": b"sharehouse-turns", b"format_version": b"4"})


def _batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def write_parquet(path: Path, rows: Iterable[Row]) -> int:
    """Write rows as one Parquet file (zstd, row groups of up to 10,000 turns); returns the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_schema()
    n = 0
    with pq.ParquetWriter(str(path), schema, compression="zstd") as writer:
        wrote = False
        for batch in _batches(rows, ROW_GROUP_ROWS):
            table = pa.Table.from_pylist([{c: r[c] for c in COLUMNS} for r in batch], schema=schema)
            writer.write_table(table)
            n += len(batch)
            wrote = True
        if not wrote:
            writer.write_table(schema.empty_table())
    return n


def write_parquet_parts(folder: Path, rows: Iterable[Row], rows_per_file: int) -> list[int]:
    """Write rows as ``part-0000.parquet``, ``part-0001.parquet``, ... in ``folder`` (created when
    there is a row), each a :func:`write_parquet` file of at most ``rows_per_file`` rows, reading
    ``rows`` as they come. Returns the row count of each file written (no rows: no file)."""
    if rows_per_file < 1:
        raise ValueError(f"rows per file must be at least 1, not {rows_per_file}")
    it = iter(rows)
    counts: list[int] = []
    for part in itertools.count():
        first = next(it, None)
        if first is None:
            break
        folder.mkdir(parents=True, exist_ok=True)
        chunk = itertools.chain((first,), itertools.islice(it, rows_per_file - 1))
        counts.append(write_parquet(folder / f"part-{part:04d}.parquet", chunk))
    return counts
