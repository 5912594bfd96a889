"""Anonymised releases: pseudonymous ids and typed placeholders for personal data in text.

Ids: session, user and persona ids become ``s-…``, ``u-…`` and ``p-…`` followed by 16 hex digits
of HMAC-SHA256 over the original id, keyed with a salt. The same salt gives the same pseudonyms
in every export, so releases can be joined with each other; without the salt the original ids
cannot be recovered by guessing. A user id and a persona id that are equal get the same digits.

The salt comes from, in this order: the ``salt`` argument (``--salt``), the environment variable
``SHAREHOUSE_ANON_SALT``, or else a fresh random salt that is used for this one export and not
written anywhere (its pseudonyms then match no other export). Keep a salt you reuse private: it
is what stops anyone from recomputing the pseudonym of a known id.

Text: e-mail addresses, phone numbers (international ``+…``, Japanese, Chinese and North
American forms, half- or full-width digits; see :mod:`sharehouse.io.phones`), URLs (with a
scheme, ``www.``, or a bare domain) and personal names become ``[EMAIL]``, ``[PHONE]``,
``[URL]`` and ``[NAME]``. Names come from the curated list in :mod:`sharehouse.io.names` plus
any names given (e.g. the personas' names, whole and in parts, and per text the player's
nickname); Japanese and Chinese names match as substrings, Latin-script names as whole words
ignoring case, except a single word taken from a given name ("Price" of "Ava Price"), which
matches only as written so that the ordinary word ("worth the price") is kept. The housemates'
names are never replaced: a given name equal to one of them (or to a part of one) is dropped, so
with a housemate Leo and a persona "Leo Evans", "Leo" stays while "Leo Evans" and "Evans" become
``[NAME]``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel

from sharehouse.io.names import NOT_NAMES, curated_names
from sharehouse.io.phones import replace_phones
from sharehouse.settings import env_name, get_settings

SALT_ENV = env_name("anon_salt")
SaltSource = Literal["option", "env", "random"]

EMAIL = "[EMAIL]"
PHONE = "[PHONE]"
URL = "[URL]"
NAME = "[NAME]"


class ReplacementCounts(BaseModel):
    """How many of each kind of personal data were replaced."""

    email: int = 0
    phone: int = 0
    url: int = 0
    name: int = 0

    @property
    def total(self) -> int:
        return self.email + self.phone + self.url + self.name


def resolve_salt(salt: str | None) -> tuple[str, SaltSource]:
    """The salt to use and where it came from (argument, environment, or random for this export)."""
    if salt:
        return salt, "option"
    configured = get_settings().anon_salt
    if configured is not None:
        return configured.get_secret_value(), "env"
    return secrets.token_hex(32), "random"


# -- patterns ------------------------------------------------------------------------------------
_URL_CHARS = r"[^\s<>\"'`()\[\]{}（）「」『』【】、。，！？\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]"

_URL_SCHEME = re.compile(rf"(?i)(?<![A-Za-z0-9.@])(?:(?:https?|ftp)://|www\.){_URL_CHARS}+")
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+[@＠](?:[A-Za-z0-9\-]+\.)+[A-Za-z]{2,}(?![A-Za-z0-9])"
)
_URL_BARE = re.compile(
    r"(?<![\w@./-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:com|org|net|edu|gov|info|io|jp|cn|uk|de|fr)"
    rf"(?![A-Za-z0-9])(?:/{_URL_CHARS}*)?"
)
_URL_TRAILING = ".,;:!?'\""
_LATIN_EDGE = "A-Za-z0-9\u00c0-\u024f"
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]")


def persona_name_parts(names: Iterable[str]) -> set[str]:
    """Full names and their parts (split at spaces and name dots), parts of two or more characters."""
    out: set[str] = set()
    for name in names:
        name = name.strip()
        if not name:
            continue
        out.add(name)
        for part in re.split(r"[\s・·]+", name):
            if len(part) >= 2:
                out.add(part)
    return out


def _by_length(names: Iterable[str]) -> list[str]:
    return sorted(set(names), key=lambda n: (-len(n), n))


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


class _NamePatterns:
    """The compiled name patterns for one set of given and curated names."""

    def __init__(self, given: set[str], curated: set[str]) -> None:
        cjk = _by_length(n for n in given | curated if _CJK.search(n))
        latin = {n for n in given | curated if not _CJK.search(n)}
        # A single Latin word from a persona's name may be an ordinary word too ("Price", "Foster"):
        # it is matched only as written. Curated names and multi-word names ignore case.
        curated_folded = {n.casefold() for n in curated}
        exact = {
            n for n in latin if n in given and len(n.split()) == 1 and n.casefold() not in curated_folded
        }
        any_case = latin - exact
        self.cjk = _sequence_pattern(cjk, r"[ \u3000・·]?", edge=None) if cjk else None
        self.latin = _latin_pattern(_by_length(any_case), _by_length(exact)) if latin else None


class Anonymizer:
    """Pseudonymises ids and replaces personal data in text, counting what it replaced.

    ``names``: personal names to replace besides the curated list (whole and in parts).
    ``housemates``: names of game characters that are never replaced, in addition to the YNTP-100
    housemates; a listed name equal to a housemate's name or to a part of one is dropped, so "Leo"
    stays when a housemate is called Leo, while "Leo Evans" and "Evans" are still replaced.
    """

    def __init__(
        self,
        salt: str,
        names: Iterable[str] = (),
        *,
        use_curated: bool = True,
        housemates: Iterable[str] = (),
    ) -> None:
        if not salt:
            raise ValueError("the anonymisation salt must not be empty")
        self._key = salt.encode("utf-8")
        self.counts = ReplacementCounts()
        self.housemates = frozenset(persona_name_parts([*NOT_NAMES, *housemates]))
        self._housemates_folded = {n.casefold() for n in self.housemates}
        self._housemates_cjk = [n for n in self.housemates if _CJK.search(n)]
        self._given = {n for n in persona_name_parts(names) if not self.is_housemate(n)}
        self._curated: set[str] = set()
        if use_curated:
            for group in curated_names().values():
                self._curated.update(n for n in group if not self.is_housemate(n))
        self._patterns = _NamePatterns(self._given, self._curated)
        self._with_extra: dict[frozenset[str], _NamePatterns] = {}

    def is_housemate(self, name: str) -> bool:
        """True for a housemate's name or a part of one (and, in Japanese or Chinese, any piece of one)."""
        if name.casefold() in self._housemates_folded:
            return True
        return bool(_CJK.search(name)) and any(name in h for h in self._housemates_cjk)

    def _patterns_for(self, extra_names: Iterable[str]) -> _NamePatterns:
        extra = frozenset(
            n
            for n in persona_name_parts(extra_names)
            if _letters(n) >= 2 and not self.is_housemate(n) and n not in self._given
        )
        if not extra:
            return self._patterns
        got = self._with_extra.get(extra)
        if got is None:
            got = self._with_extra[extra] = _NamePatterns(self._given | extra, self._curated)
        return got

    # -- ids ----------------------------------------------------------------------------------
    def _digest(self, value: str) -> str:
        return hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:16]

    def session_id(self, value: str) -> str:
        return f"s-{self._digest('session:' + value)}"

    def user_id(self, value: str) -> str:
        return f"u-{self._digest('person:' + value)}"

    def persona_id(self, value: str | None) -> str | None:
        return None if value is None else f"p-{self._digest('person:' + value)}"

    # -- text ---------------------------------------------------------------------------------
    def text(self, value: str, *, extra_names: Iterable[str] = ()) -> str:
        """``value`` with e-mail addresses, URLs, phone numbers and names replaced.

        ``extra_names``: more names for this text only (e.g. the nickname of the session's player),
        matched like the given names; names of fewer than two letters are ignored.
        """
        value = _URL_SCHEME.sub(self._url, value)
        value = _EMAIL.sub(self._email, value)
        value = _URL_BARE.sub(self._url, value)
        value, phones = replace_phones(value, PHONE)
        self.counts.phone += phones
        patterns = self._patterns_for(extra_names)
        for pattern in (patterns.latin, patterns.cjk):
            if pattern is not None:
                value = pattern.sub(self._name, value)
        return value

    def _url(self, m: re.Match[str]) -> str:
        found = m.group(0)
        core = found.rstrip(_URL_TRAILING)
        if not core or core.lower() in ("www.", "http://", "https://", "ftp://"):
            return found
        self.counts.url += 1
        return URL + found[len(core) :]

    def _email(self, m: re.Match[str]) -> str:
        self.counts.email += 1
        return EMAIL

    def _name(self, m: re.Match[str]) -> str:
        self.counts.name += 1
        return NAME


def _alternatives(names: list[str]) -> str:
    return "|".join(r"\s+".join(re.escape(p) for p in n.split()) for n in names)


def _sequence_pattern(names: list[str], joiner: str, *, edge: str | None) -> re.Pattern[str]:
    """One or more names in a row (a full name counts once), optionally bounded as whole words."""
    alt = _alternatives(names)
    body = f"(?:{alt})(?:{joiner}(?:{alt}))*"
    if edge is not None:
        body = f"(?<![{edge}]){body}(?![{edge}])"
    return re.compile(body, re.IGNORECASE)


def _latin_pattern(any_case: list[str], exact: list[str]) -> re.Pattern[str]:
    """Whole-word Latin names in a row, ``any_case`` ones ignoring case and ``exact`` ones only as
    written; a run mixing both ("Quinby Evans") is still one name."""
    units = [f"(?i:{_alternatives(any_case)})"] if any_case else []
    if exact:
        units.append(f"(?:{_alternatives(exact)})")
    unit = "(?:" + "|".join(units) + ")"
    return re.compile(rf"(?<![{_LATIN_EDGE}]){unit}(?:[ \t]+{unit})*(?![{_LATIN_EDGE}])")
