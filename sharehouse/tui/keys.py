"""Footer key descriptions in the interface language."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

from textual.binding import BindingsMap
from textual.dom import DOMNode

from sharehouse.tui.i18n import is_key, t


def localise_bindings(node: DOMNode, lang: str, *, without: Collection[str] = ()) -> None:
    """Rewrite the descriptions of ``node``'s class bindings that are catalogue keys into ``lang``;
    the bindings of the actions in ``without`` are left out (the node does not offer them)."""
    merged = type(node)._merged_bindings
    if merged is None:
        return
    keys = {
        key: [
            replace(b, description=t(b.description, lang)) if is_key(b.description) else b
            for b in bindings
            if b.action not in without
        ]
        for key, bindings in merged.key_to_bindings.items()
    }
    keys = {key: bindings for key, bindings in keys.items() if bindings}
    node._bindings = BindingsMap.from_keys(keys)
