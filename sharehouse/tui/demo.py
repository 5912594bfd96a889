"""A saved game in a known state, built without any model: for screenshots, snapshots and demos.

The housemates' lines are the scenario's own sample questions; the player's replies are fixed
sample answers. The session stops at a chosen state of day 1 with that state's line pending, so
the game screen opened on it shows exactly what a returning player would see.
"""

from __future__ import annotations

from sharehouse.engine.session import start_session
from sharehouse.scenario import Scenario
from sharehouse.store import Position, SessionRecord, Store, TurnRecord

DEMO_REPLIES: dict[str, list[str]] = {
    "en": [
        "Honestly? A small dinner with the people I like, then I would keep quiet about the rest.",
        "I would write a rough budget first, but leave a fun corner for surprises.",
        "A tiny bakery by the sea, with bread in the window at six every morning.",
    ],
    "ja": [
        "正直に言うと、仲のいい人たちとちょっとした食事会をして、あとは黙っておくかな。",
        "まずはざっくり予算を決めるけど、思いつきで使う分も少し残しておきたい。",
        "海の近くの小さなパン屋さん。毎朝六時に焼きたてのパンを窓に並べたい。",
    ],
    "zh": [
        "说实话，我会和关系好的几个人吃顿饭，其他的就先不说了。",
        "我会先做个大概的预算，但也会留一点钱给临时想做的事。",
        "在海边开一家小面包店，每天早上六点把刚出炉的面包摆在窗口。",
    ],
}


def prefill_demo_session(
    store: Store,
    scenario: Scenario,
    lang: str,
    *,
    answered: int = 1,
    session_id: str = "s-demo",
    user_id: str = "demo",
) -> SessionRecord:
    """A human game session with the first ``answered`` questions of day 1 answered and the next
    question's line pending. ``answered`` must leave at least one question of day 1 open."""
    states = scenario.day(1).ordered_states()
    if not 0 <= answered < len(states):
        raise ValueError(f"answered must be between 0 and {len(states) - 1}")
    replies = DEMO_REPLIES[lang]
    rec = start_session(
        store, scenario, kind="human", source="play", user_id=user_id, language=lang, session_id=session_id
    )
    for idx, state in enumerate(states[:answered]):
        npc = scenario.npc(state.npc)
        nxt = states[idx + 1]
        store.append_turn(
            TurnRecord(
                session_id=rec.id,
                day=1,
                idx=idx,
                npc=npc.name.get(lang),
                message=state.opener.get(lang),
                response=replies[idx % len(replies)],
                state_id=state.id,
                mbti=state.mbti,
                verdict="advance",
            ),
            Position(day=1, state=nxt.id, followups_used=0),
        )
    pending = states[answered]
    store.set_pending(rec.id, scenario.npc(pending.npc).name.get(lang), pending.opener.get(lang))
    got = store.get_session(rec.id)
    assert got is not None
    return got
