"""Reading the real side of the comparison straight from the YNTP-100 JSON files."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from sharehouse.lang import DIR_LANGUAGES


def load_yntp_replies(
    directory: str | Path, days: Iterable[int] = (1, 2, 3, 4, 5)
) -> dict[str, tuple[str, list[str]]]:
    """``{user_id: (lang, replies)}`` from ``<dir>/{en,cn,jp}/*.json`` (cn -> zh, jp -> ja).

    The user id is the file name without extension (``jp_12``); empty replies are skipped.
    """
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"YNTP-100 directory not found: {root}")
    wanted = [f"day_{d}" for d in days]
    out: dict[str, tuple[str, list[str]]] = {}
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and p.name in DIR_LANGUAGES):
        lang = DIR_LANGUAGES[sub.name]
        for path in sorted(sub.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}: invalid JSON ({exc.msg}, line {exc.lineno})") from None
            replies = [
                str(turn["response"]).strip()
                for day in wanted
                for turn in data.get(day, [])
                if isinstance(turn, dict) and str(turn.get("response", "")).strip()
            ]
            out[path.stem] = (lang, replies)
    if not out:
        raise FileNotFoundError(
            f"no YNTP-100 files under {root} (expected en/, cn/, jp/ folders of JSON files)"
        )
    return out
