"""Phone numbers in free text, found with libphonenumber (the ``phonenumbers`` package).

Numbers written in the Japanese, Chinese or North American way (without a country code) and any
number with a ``+`` country code are found, in half- or full-width digits. libphonenumber's matcher
is run for each of the regions and the spans it finds are merged. A candidate counts as a phone
number when libphonenumber says it is a valid number, or when it is a possible one (right length
for its country) written with a ``+`` country code or with at least ten digits: that keeps
fictional numbers such as 555-123-4567, while dates (2024-05-01), years (1990-2024), prices and
order numbers are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatch

REGIONS: tuple[str, ...] = ("JP", "CN", "US")
MIN_DIGITS = 8  # shorter candidates (prices, counts, years) are never phone numbers
MIN_DIGITS_UNVALIDATED = 10  # a possible but not valid number needs this many digits (or a +)
# A quick test before the (slow) matcher: MIN_DIGITS digits with at most three non-word characters
# (or the long-vowel mark, which libphonenumber reads as a dash) between neighbours.
_DIGIT_RUN = re.compile(rf"\d(?:(?:[^\w]|ー){{0,3}}\d){{{MIN_DIGITS - 1},}}")


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _is_phone(match: PhoneNumberMatch) -> bool:
    digits = _digits(match.raw_string)
    if digits < MIN_DIGITS:
        return False
    if phonenumbers.is_valid_number(match.number):
        return True
    return match.raw_string.lstrip().startswith(("+", "＋")) or digits >= MIN_DIGITS_UNVALIDATED


def phone_spans(text: str) -> list[tuple[int, int]]:
    """Start and end offsets of the phone numbers in ``text``, in order and not overlapping."""
    if _DIGIT_RUN.search(text) is None:
        return []
    found = sorted(
        (m.start, m.end)
        for region in REGIONS
        for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=Leniency.POSSIBLE)
        if _is_phone(m)
    )
    return list(_merged(found))


def _merged(spans: list[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    current: tuple[int, int] | None = None
    for start, end in spans:
        if current is not None and start < current[1]:
            current = (current[0], max(current[1], end))
            continue
        if current is not None:
            yield current
        current = (start, end)
    if current is not None:
        yield current


def replace_phones(text: str, placeholder: str) -> tuple[str, int]:
    """``text`` with each phone number replaced by ``placeholder``, and how many were replaced."""
    spans = phone_spans(text)
    if not spans:
        return text, 0
    out: list[str] = []
    last = 0
    for start, end in spans:
        out += [text[last:start], placeholder]
        last = end
    out.append(text[last:])
    return "".join(out), len(spans)
