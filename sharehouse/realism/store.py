"""Simulated users' replies read from the store, in the shape the realism report takes."""

from __future__ import annotations

from sharehouse.store import Store


def simulated_replies(store: Store, run_id: str | None = None) -> dict[str, tuple[str, list[str]]]:
    """{user_id: (language, replies)} for simulated sessions (of one run, or all runs).

    A canned reply (the simulated user's fallback when the model gave nothing usable, flagged
    ``reply_fallback``) is the persona's sample text, not the model's speech: it is left out, so it
    cannot make the simulated users look more or less like real people than they are."""
    out: dict[str, tuple[str, list[str]]] = {}
    for rec in store.list_sessions(kind="simulated", run_id=run_id):
        replies = [
            t.response for t in store.load_turns(rec.id) if t.response.strip() and not t.reply_fallback
        ]
        if not replies:
            continue
        key = rec.user_id if rec.user_id not in out else f"{rec.user_id}@{rec.id}"
        out[key] = (rec.language, replies)
    return out
