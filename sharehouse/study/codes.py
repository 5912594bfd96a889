"""Resume codes: what a participant keeps to continue a game or to withdraw.

A code is 8 characters drawn with :mod:`secrets` from :data:`CODE_ALPHABET` (digits and capital
letters without the look-alikes 0/O and 1/I/L), shown as two groups of four, ``K7QX-M2PD``:
31**8, about 8.5e11 codes. The store keeps only :func:`code_sha256` of a code, never the code.

:func:`normalize_code` accepts what a person may type: lower case, spaces, a missing or doubled
dash, full-width characters and the dashes a Japanese or Chinese keyboard produces.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from typing import Final

#: The characters of a code: 2-9 and A-Z without O, I and L (0 and 1 are not in it either).
CODE_ALPHABET: Final[str] = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
#: Characters in a code, without the dash.
CODE_LENGTH: Final[int] = 8
_GROUP: Final[int] = 4
#: How a code looks (an example, in messages and as the input's hint).
EXAMPLE_CODE: Final[str] = "K7QX-M2PD"
#: Separators a person may type between (or inside) the groups; all are dropped.
_SEPARATORS: Final[frozenset[str]] = frozenset("-‐‑‒–—―−ー_.")


def new_resume_code() -> str:
    """A fresh random code: two groups of four joined by a dash, as :data:`EXAMPLE_CODE`."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return _with_dash(raw)


def _with_dash(raw: str) -> str:
    return f"{raw[:_GROUP]}-{raw[_GROUP:]}"


def normalize_code(text: str) -> str:
    """The canonical form of a typed code (two groups of four joined by a dash, as :data:`EXAMPLE_CODE`).

    Spaces and separators are dropped, full-width characters folded (NFKC) and letters upper-cased.
    :class:`ValueError` says what is wrong when the rest is not 8 characters of :data:`CODE_ALPHABET`.
    """
    folded = unicodedata.normalize("NFKC", text)
    raw = "".join(ch for ch in folded if not ch.isspace() and ch not in _SEPARATORS).upper()
    if not raw:
        raise ValueError(f"a resume code is 8 letters and digits, like {EXAMPLE_CODE}; nothing was given")
    bad = sorted({ch for ch in raw if ch not in CODE_ALPHABET})
    if bad:
        shown = " ".join(repr(ch) for ch in bad[:5])
        raise ValueError(
            f"a resume code has no {shown}: it uses the digits 2-9 and the letters A-Z without I, L and O"
        )
    if len(raw) != CODE_LENGTH:
        raise ValueError(
            f"a resume code has {CODE_LENGTH} letters and digits, like {EXAMPLE_CODE}; got {len(raw)}"
        )
    return _with_dash(raw)


def code_sha256(code: str) -> str:
    """What the store keeps of a code: hex sha256 of its canonical form (any typed form gives the same)."""
    return hashlib.sha256(normalize_code(code).encode("ascii")).hexdigest()
