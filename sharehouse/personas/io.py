"""Reading and writing persona files (JSON Lines, one persona per line)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError

from sharehouse.personas.models import Persona


class PersonaFileError(ValueError):
    """A persona file that cannot be used; the message names the file, the line and the field."""

    def __init__(self, path: Path, message: str, line: int | None = None, field: str | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.field = field
        where = f"{self.path}" + (f", line {line}" if line is not None else "")
        what = f"field '{field}': " if field else ""
        super().__init__(f"{where}: {what}{message}")


def default_personas_path() -> Path:
    """The persona file shipped in the package (``sharehouse/data/default_personas.jsonl``)."""
    from sharehouse.data import PERSONAS, shipped

    return shipped(PERSONAS)


def write_personas_jsonl(path: str | Path, personas: Iterable[Persona]) -> Path:
    """Write personas one per line (UTF-8, non-ASCII kept readable); creates parent folders."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(_row(p), ensure_ascii=False) for p in personas]
    out.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return out


def _row(persona: Persona) -> dict[str, object]:
    """A persona as written to a file; the legacy ``sample_replies`` only when it has some."""
    row = persona.model_dump(mode="json")
    if not row["style"]["sample_replies"]:
        del row["style"]["sample_replies"]
    return row


def load_personas(path: str | Path) -> list[Persona]:
    """Load and validate a persona file; raises :class:`PersonaFileError` on the first problem."""
    src = Path(path)
    try:
        raw = src.read_bytes()
    except FileNotFoundError:
        raise PersonaFileError(src, "file not found") from None
    except OSError as exc:
        raise PersonaFileError(src, f"cannot read file ({exc})") from exc
    personas: list[Persona] = []
    seen: dict[str, int] = {}
    for lineno, chunk in enumerate(raw.splitlines(), start=1):
        try:
            line = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = chunk[exc.start : exc.start + 1].hex()
            raise PersonaFileError(
                src, f"not valid UTF-8 (byte 0x{bad} at column {exc.start + 1})", lineno
            ) from None
        if lineno == 1:
            line = line.removeprefix("\ufeff")  # a byte-order mark some editors write
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise PersonaFileError(src, f"invalid JSON ({exc.msg} at column {exc.colno})", lineno) from None
        if not isinstance(data, dict):
            raise PersonaFileError(src, f"expected a JSON object, got {type(data).__name__}", lineno)
        try:
            persona = Persona.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(part) for part in err["loc"]) or None
            more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
            raise PersonaFileError(src, f"{err['msg']}{more}", lineno, field) from None
        if persona.id in seen:
            raise PersonaFileError(
                src, f"duplicate id {persona.id!r} (first used on line {seen[persona.id]})", lineno, "id"
            )
        seen[persona.id] = lineno
        personas.append(persona)
    if not personas:
        raise PersonaFileError(src, "no personas in file")
    return personas
