"""The dialogues the quality report reads: stored sessions (a run or a source) or the YNTP-100 files.

Both sides become :class:`Dialogue` objects holding the store's own :class:`TurnRecord` rows, so
every measure reads one shape. Real files are parsed by the importer's parser
(:func:`sharehouse.io.yntp.parse_yntp_bytes`), so they are cleaned exactly as an import would be.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sharehouse.io.yntp import DIR_LANGUAGES, imported_turns, parse_yntp_bytes, yntp_files
from sharehouse.store.bulk import load_turns_for
from sharehouse.store.db import Store
from sharehouse.store.records import TurnRecord


@dataclass
class Dialogue:
    """One session: its turns in order, and the persona's example texts when it was simulated."""

    session_id: str
    user_id: str
    language: str
    turns: list[TurnRecord]
    samples: tuple[str, ...] | None = None  # None: not a persona's session, or the persona is unknown
    kind: str = "human"
    persona_id: str | None = None


def _wanted(language: str, languages: Sequence[str] | None) -> bool:
    return not languages or language in languages


def yntp_dialogues(directory: str | Path, languages: Sequence[str] | None = None) -> list[Dialogue]:
    """The real people: one dialogue per ``{en,cn,jp}/*.json`` file (cn -> zh, jp -> ja)."""
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"YNTP-100 directory not found: {root}")
    out: list[Dialogue] = []
    for path in yntp_files(root):
        lang = DIR_LANGUAGES.get(path.parent.name)
        if lang is None or not _wanted(lang, languages):
            continue
        try:
            parsed = parse_yntp_bytes(path.read_bytes())
        except Exception as exc:  # the parser's problem list names each JSON path
            raise ValueError(f"{path}: {exc}") from None
        turns = imported_turns(path.stem, parsed)
        out.append(Dialogue(session_id=path.stem, user_id=path.stem, language=lang, turns=turns))
    if not out and not languages:
        raise FileNotFoundError(
            f"no YNTP-100 files under {root} (expected en/, cn/, jp/ folders of JSON files)"
        )
    return out


def _persona_samples(store: Store, run_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Persona id -> example texts (``WritingStyle.example_texts``), from the persona file each run recorded (else the shipped one)."""
    from sharehouse.personas.io import default_personas_path, load_personas

    files: set[Path] = set()
    for run_id in run_ids:
        run = store.get_run(run_id) or {}
        config = run.get("config") or {}
        files.add(Path(config["persona_file"]) if config.get("persona_file") else default_personas_path())
    if not files:
        files.add(default_personas_path())
    samples: dict[str, tuple[str, ...]] = {}
    for path in sorted(files):
        if not path.is_file():
            continue
        for persona in load_personas(path):
            samples.setdefault(persona.id, tuple(persona.style.example_texts()))
    return samples


def store_dialogues(
    store: Store,
    *,
    run_id: str | None = None,
    source: str | None = None,
    languages: Sequence[str] | None = None,
) -> list[Dialogue]:
    """Stored sessions of a run and/or a source (neither: every simulated session), with their turns.

    A simulated session carries its persona's example texts (from the run's persona file), so the
    report can count replies that copy them."""
    kind = "simulated" if run_id is None and source is None else None
    records = [
        r
        for r in store.list_sessions(run_id=run_id, source=source, kind=kind)
        if _wanted(r.language, languages)
    ]
    turns = load_turns_for(store, [r.id for r in records])
    samples = _persona_samples(store, sorted({r.run_id for r in records if r.run_id}))
    return [
        Dialogue(
            session_id=r.id,
            user_id=r.user_id,
            language=r.language,
            turns=turns[r.id],
            kind=r.kind,
            persona_id=r.persona_id,
            samples=samples.get(r.persona_id) if r.persona_id else None,
        )  # fmt: skip
        for r in records
        if turns[r.id]
    ]
