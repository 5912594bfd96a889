"""The names methods are shown under, for runs stored before the methods were renamed.

Before the protocols (:mod:`evaluator.protocols`), ``few-shot``, ``few-shot-mbti`` and ``cot``
ran the project's variants with measured style statistics; those names now mean the paper's
plain methods. Stored rows are not rewritten: a run without a recorded protocol shows its
predictions under the name of what ran (:data:`LEGACY_NAMES`), except those imported from
elsewhere (published results keep the paper's names).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

#: Name stored by a run made before the protocols → the name of the method it ran.
LEGACY_NAMES: dict[str, str] = {
    "few-shot": "few-shot+style",
    "few-shot-mbti": "few-shot-mbti+style",
    "cot": "cot+style",
}

Namer = Callable[[str, str], str]  # (stored method, model) → shown method


def _imported(config: Mapping[str, Any]) -> set[tuple[str, str]]:
    combos: set[tuple[str, str]] = set()
    for entry in config.get("imports") or []:
        for pair in entry.get("combinations") or []:
            if isinstance(pair, list | tuple) and len(pair) == 2:
                combos.add((str(pair[0]), str(pair[1])))
    return combos


#: Config key that keeps a run marked as evaluated before the renaming once it is resumed.
LEGACY_KEY = "legacy_method_names"


def is_legacy(config: Mapping[str, Any] | None) -> bool:
    """A run evaluated before protocols were recorded (marked so when resumed since)."""
    cfg = dict(config or {})
    return bool(cfg.get(LEGACY_KEY)) or (not cfg.get("protocol") and bool(cfg.get("params")))


def namer_for(config: Mapping[str, Any] | None) -> Namer:
    """How the methods of a run with this stored config are shown."""
    cfg = dict(config or {})
    if not is_legacy(cfg):
        return lambda method, model: method
    imported = _imported(cfg)

    def name(method: str, model: str) -> str:
        return method if (method, model) in imported else LEGACY_NAMES.get(method, method)

    return name


def renamed(rows: Iterable[Mapping[str, Any]], namer: Namer) -> list[dict[str, Any]]:
    """Rows (with ``method`` and ``model``) under their shown method names."""
    return [{**r, "method": namer(str(r["method"]), str(r["model"]))} for r in rows]


def renamed_keys(counts: Mapping[tuple[str, str, str], Any], namer: Namer) -> dict[tuple[str, str, str], Any]:
    """A mapping keyed by (method, model, language) under the shown method names."""
    return {(namer(m, x), x, lang): v for (m, x, lang), v in counts.items()}


def check_legacy_resume(run_id: str, config: Mapping[str, Any] | None, methods: Iterable[str]) -> None:
    """Refuse to add a renamed method to a run whose old predictions already show under that name
    (the two would be averaged together)."""
    if not is_legacy(config):
        return
    stored = set((config or {}).get("methods") or [])
    for old, new in LEGACY_NAMES.items():
        if new in methods and old in stored:
            raise ValueError(
                f"run {run_id} holds {old} predictions made before the methods were renamed; they show "
                f"as {new}. Start a new run for {new}."
            )
