"""The languages of sharehouse, defined once: English, Japanese and Chinese (Simplified).

- :data:`Lang` and :data:`LANGS`: the language codes as stored and shown (``en``, ``ja``, ``zh``),
  in the order every table and list uses.
- :data:`ALIASES` and :func:`canonical`: every spelling a command or a file may give (``jp``,
  ``cn``, ``jpn``, ``zho``, ``japanese``, ``chinese``, ``eng``, ``english``, and region tags such
  as ``zh-CN`` or ``en_US``), mapped to the code.
- :data:`DIR_LANGUAGES` and :data:`LANGUAGE_DIRS`: the folder names of the YNTP-100 dataset
  (``en``, ``cn``, ``jp``; ``zh`` and ``ja`` are read too) and the folder each language is
  written to.
- :data:`ENGLISH_NAMES` and :data:`NATIVE_NAMES`: display names, in English (tables, reports)
  and in the language itself (the game's language picker).

Prompt wording that names a language (the housemates' and the methods' prompts) is part of each
prompt and stays beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final, Literal, TypeGuard

Lang = Literal["en", "ja", "zh"]

#: Every language, in the order of every table and list.
LANGS: Final[tuple[Lang, ...]] = ("en", "ja", "zh")

#: Each accepted spelling (lower case, without a region tag) → the language code.
ALIASES: Final[Mapping[str, Lang]] = {
    "en": "en", "eng": "en", "english": "en",
    "ja": "ja", "jp": "ja", "jpn": "ja", "japanese": "ja",
    "zh": "zh", "cn": "zh", "zho": "zh", "chinese": "zh",
}  # fmt: skip

#: Folder name in the YNTP-100 dataset → language code (the dataset writes ``cn`` and ``jp``).
DIR_LANGUAGES: Final[Mapping[str, Lang]] = {"en": "en", "cn": "zh", "jp": "ja", "zh": "zh", "ja": "ja"}
#: Language code → the YNTP-100 folder name the exporter writes.
LANGUAGE_DIRS: Final[Mapping[str, str]] = {"en": "en", "zh": "cn", "ja": "jp"}

#: Each language's name in English (tables, reports, the evaluator screen).
ENGLISH_NAMES: Final[Mapping[str, str]] = {"en": "English", "ja": "Japanese", "zh": "Chinese"}
#: Each language's name written in that language (the game's language picker).
NATIVE_NAMES: Final[Mapping[str, str]] = {"en": "English", "ja": "日本語", "zh": "中文"}

#: Language code → its place in :data:`LANGS` (for sorting rows).
LANGUAGE_ORDER: Final[Mapping[str, int]] = {lang: i for i, lang in enumerate(LANGS)}

#: What an error message offers instead of an unknown value.
KNOWN_HINT: Final[str] = "use en, ja (jp) or zh (cn)"


def is_lang(code: object) -> TypeGuard[Lang]:
    """True when ``code`` is one of the codes of :data:`LANGS` exactly (no alias)."""
    return isinstance(code, str) and code in LANGS


def lookup(code: str) -> Lang | None:
    """The language code of any accepted spelling (case, spaces and a region tag such as ``-CN`` or
    ``_US`` ignored); None when it names no language."""
    key = code.strip().lower().replace("_", "-").split("-")[0]
    return ALIASES.get(key)


def canonical(code: str) -> Lang:
    """The language code of any accepted spelling; :class:`ValueError` naming the value otherwise."""
    lang = lookup(code)
    if lang is None:
        raise ValueError(f"unknown language {code!r}: {KNOWN_HINT}")
    return lang


def parse_languages(value: str | Iterable[str]) -> list[Lang]:
    """Language codes from a comma-separated string (``"en, jp"``) or a list of spellings, in the
    given order without repeats; :class:`ValueError` naming every unknown value."""
    items = value.split(",") if isinstance(value, str) else list(value)
    found: list[Lang] = []
    unknown: list[str] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        lang = lookup(item)
        if lang is None:
            unknown.append(item)
        elif lang not in found:
            found.append(lang)
    if unknown:
        what = "language" if len(unknown) == 1 else "languages"
        raise ValueError(f"unknown {what} {', '.join(repr(u) for u in unknown)}: {KNOWN_HINT}")
    return found


def rank(code: str) -> int:
    """A language's place in :data:`LANGS`; other values sort after them."""
    return LANGUAGE_ORDER.get(code, len(LANGS))
