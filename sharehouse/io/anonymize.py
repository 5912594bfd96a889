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
American forms, half- or full-width digits), URLs (with a scheme, ``www.``, or a bare domain)
and personal names become ``[EMAIL]``, ``[PHONE]``, ``[URL]`` and ``[NAME]``. Names come from
the curated list in :mod:`sharehouse.io.names` plus any names given (e.g. the personas' names,
whole and in parts); Japanese and Chinese names match as substrings, Latin-script names as whole
words ignoring case, except a single word taken from a given name ("Price" of "Ava Price"), which
matches only as written so that the ordinary word ("worth the price") is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel

from sharehouse.io.names import NOT_NAMES, curated_names

SALT_ENV = "SHAREHOUSE_ANON_SALT"
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
    env = os.environ.get(SALT_ENV)
    if env:
        return env, "env"
    return secrets.token_hex(32), "random"


# -- patterns ------------------------------------------------------------------------------------
_D = "[0-9０-９]"
_ZERO = "[0０]"
_H = "[-‐‑–－ー]"
_NOT_DIGIT_BEFORE = r"(?<![0-9０-９+＋])"
_NOT_DIGIT_AFTER = r"(?![0-9０-９])"
_URL_CHARS = r"[^\s<>\"'`()\[\]{}（）「」『』【】、。，！？\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]"

_URL_SCHEME = re.compile(rf"(?i)(?<![A-Za-z0-9.@])(?:(?:https?|ftp)://|www\.){_URL_CHARS}+")
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+[@＠](?:[A-Za-z0-9\-]+\.)+[A-Za-z]{2,}(?![A-Za-z0-9])"
)
_URL_BARE = re.compile(
    r"(?<![\w@./-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:com|org|net|edu|gov|info|io|jp|cn|uk|de|fr)"
    rf"(?![A-Za-z0-9])(?:/{_URL_CHARS}*)?"
)
_PHONE = re.compile(
    _NOT_DIGIT_BEFORE
    + "(?:"
    # international: +country code, then groups separated by spaces, dots or hyphens
    + rf"[+＋][ ]?{_D}{{1,3}}(?:[ .]?{_H}?[ ]?\(?{_D}{{1,5}}\)?){{1,5}}"
    # Japanese / Chinese with a leading 0: (03) 1234-5678, 03-1234-5678, 090-1234-5678, 010-12345678
    + rf"|\({_ZERO}{_D}{{1,4}}\)[ ]?{_D}{{1,4}}{_H}?{_D}{{3,8}}"
    + rf"|{_ZERO}{_D}{{1,4}}{_H}{_D}{{1,4}}{_H}{_D}{{3,4}}"
    + rf"|{_ZERO}{_D}{{2,3}}{_H}{_D}{{7,8}}"
    + rf"|{_ZERO}{_D}{{9,10}}"
    # Chinese mobile: 13812345678, 138-1234-5678, 138 1234 5678
    + rf"|[1１][3-9３-９]{_D}(?:[ ]|{_H})?{_D}{{4}}(?:[ ]|{_H})?{_D}{{4}}"
    # North American: (555) 123-4567, 555-123-4567, 555.123.4567
    + rf"|(?:\({_D}{{3}}\)[ ]?|{_D}{{3}}[ .\-]){_D}{{3}}[.\-]{_D}{{4}}"
    + ")"
    + _NOT_DIGIT_AFTER
)
_URL_TRAILING = ".,;:!?'\""
_LATIN_EDGE = "A-Za-z0-9\u00c0-\u024f"
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7af]")


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


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


class Anonymizer:
    """Pseudonymises ids and replaces personal data in text, counting what it replaced."""

    def __init__(self, salt: str, names: Iterable[str] = (), *, use_curated: bool = True) -> None:
        if not salt:
            raise ValueError("the anonymisation salt must not be empty")
        self._key = salt.encode("utf-8")
        self.counts = ReplacementCounts()
        excluded = {n.casefold() for n in NOT_NAMES}
        given = {n for n in persona_name_parts(names) if n.casefold() not in excluded}
        curated: set[str] = set()
        if use_curated:
            for group in curated_names().values():
                curated.update(n for n in group if n.casefold() not in excluded)
        cjk = _by_length(n for n in given | curated if _CJK.search(n))
        latin = {n for n in given | curated if not _CJK.search(n)}
        # A single Latin word from a persona's name may be an ordinary word too ("Price", "Foster"):
        # it is matched only as written. Curated names and multi-word names ignore case.
        curated_folded = {n.casefold() for n in curated}
        exact = {
            n for n in latin if n in given and len(n.split()) == 1 and n.casefold() not in curated_folded
        }
        any_case = latin - exact
        self._cjk_names = _sequence_pattern(cjk, r"[ \u3000・·]?", edge=None) if cjk else None
        self._latin_names = (
            _sequence_pattern(_by_length(any_case), r"[ \t]+", edge=_LATIN_EDGE) if any_case else None
        )
        self._latin_exact = (
            _sequence_pattern(_by_length(exact), r"[ \t]+", edge=_LATIN_EDGE, ignore_case=False)
            if exact
            else None
        )

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
    def text(self, value: str) -> str:
        """``value`` with e-mail addresses, URLs, phone numbers and names replaced."""
        value = _URL_SCHEME.sub(self._url, value)
        value = _EMAIL.sub(self._email, value)
        value = _URL_BARE.sub(self._url, value)
        value = _PHONE.sub(self._phone, value)
        if self._latin_names is not None:
            value = self._latin_names.sub(self._name, value)
        if self._latin_exact is not None:
            value = self._latin_exact.sub(self._name, value)
        if self._cjk_names is not None:
            value = self._cjk_names.sub(self._name, value)
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

    def _phone(self, m: re.Match[str]) -> str:
        if _digits(m.group(0)) < 8:
            return m.group(0)
        self.counts.phone += 1
        return PHONE

    def _name(self, m: re.Match[str]) -> str:
        self.counts.name += 1
        return NAME


def _sequence_pattern(
    names: list[str], joiner: str, *, edge: str | None, ignore_case: bool = True
) -> re.Pattern[str]:
    """One or more names in a row (a full name counts once), optionally bounded as whole words."""
    alt = "|".join(r"\s+".join(re.escape(p) for p in n.split()) for n in names)
    body = f"(?:{alt})(?:{joiner}(?:{alt}))*"
    if edge is not None:
        body = f"(?<![{edge}]){body}(?![{edge}])"
    return re.compile(body, re.IGNORECASE if ignore_case else 0)
