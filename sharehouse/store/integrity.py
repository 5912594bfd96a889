"""Integrity checks over a store: every check here can fail on a real database.

Primary keys already rule out two rows with the same key, so the checks look for what a key does
not forbid:

- orphans: turns and LLM call logs pointing at a session that is not stored;
  evaluation predictions, scores and user statuses pointing at a missing run, session or turn;
  scores without a prediction;
- the shape of each day: turn indexes 0, 1, 2, … without gaps, no day before day 1;
- sessions played by the engine (they carry a scenario hash): their turns replayed through the
  scenario's state machine. Each turn must answer the state the machine is at, on that state's day,
  a question asked afresh once and followed up at most ``max_followups`` times; the stored
  position (day, state, follow-ups used) and status must be where the turns lead, and the pending
  line must belong to the housemate of that state. For a scenario that is not known here (a custom
  file) the same rules are checked without the scenario: each state in one unbroken run, asked
  afresh once, and a position that agrees with the last verdict;
- session fields: a known status, a failure reason for each failed session;
- study participants (schema v7): an active participant's game is stored and is theirs, every
  study session has a participant, and a withdrawn participant has nothing left but the tombstone.

:func:`check_integrity` returns one sentence per problem; an empty list means consistent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from sharehouse.scenario import Scenario
from sharehouse.store.bulk import load_turns_for
from sharehouse.store.db import Store
from sharehouse.store.records import SessionRecord, TurnRecord

_STATUSES = ("active", "complete", "failed")
_ENGINE_VERDICTS = ("advance", "follow_up", "forced")


def known_scenarios(extra: Iterable[Path] = ()) -> list[Scenario]:
    """The scenarios a session's hash can be matched against: the default scenario, every valid
    ``*.json`` beside it (the repository's ``scenarios/`` folder) and ``extra`` files.
    Files that do not load are left out (``sharehouse scenario validate`` reports them)."""
    from sharehouse.scenario import ScenarioError, default_scenario_path, load_scenario

    default = default_scenario_path()
    paths = [default, *sorted(default.parent.glob("*.json")), *extra]
    found: dict[str, Scenario] = {}
    for path in dict.fromkeys(Path(p) for p in paths):
        try:
            sc = load_scenario(path)
        except (ScenarioError, OSError):
            continue
        found.setdefault(sc.content_hash(), sc)
    return list(found.values())


def check_integrity(store: Store, scenarios: Sequence[Scenario] | None = None) -> list[str]:
    """Every problem found, one sentence each; an empty list means the store is consistent.

    ``scenarios``: the scenarios sessions may have been played with (default: :func:`known_scenarios`).
    """
    by_hash = {sc.content_hash(): sc for sc in (known_scenarios() if scenarios is None else scenarios)}
    problems: list[str] = []
    problems += _orphans(store)
    problems += _day_shapes(store)
    problems += _session_fields(store)
    problems += _engine_sessions(store, by_hash)
    tables = {r[0] for r in store.fetchall("SELECT table_name FROM information_schema.tables")}
    if {"eval_predictions", "eval_scores", "eval_users"} <= tables:  # absent before schema v3
        problems += _evaluation(store)
    if "participants" in tables:  # absent before schema v7
        problems += _participants(store)
    return problems


# -- rows pointing nowhere ---------------------------------------------------------------------
def _orphans(store: Store) -> list[str]:
    out: list[str] = []
    for sid, n in store.fetchall(
        "SELECT t.session_id, count(*) FROM turns t LEFT JOIN sessions s ON s.id = t.session_id "
        "WHERE s.id IS NULL GROUP BY t.session_id ORDER BY 1"
    ):
        out.append(f"{n} turn(s) belong to no session ({sid})")
    for sid, n in store.fetchall(
        "SELECT c.session_id, count(*) FROM llm_calls c LEFT JOIN sessions s ON s.id = c.session_id "
        "WHERE c.session_id IS NOT NULL AND s.id IS NULL GROUP BY c.session_id ORDER BY 1"
    ):
        out.append(f"{n} LLM call record(s) belong to no session ({sid})")
    return out


def _day_shapes(store: Store) -> list[str]:
    out: list[str] = []
    for sid, day, n, lo, hi in store.fetchall(
        "SELECT session_id, day, count(*), min(idx), max(idx) FROM turns GROUP BY session_id, day "
        "HAVING min(idx) <> 0 OR max(idx) <> count(*) - 1 ORDER BY 1, 2"
    ):
        out.append(f"session {sid}: day {day} turn indexes {lo}..{hi} for {n} turns (gap or offset)")
    for sid, day in store.fetchall(
        "SELECT session_id, day FROM turns WHERE day < 1 GROUP BY session_id, day ORDER BY 1, 2"
    ):
        out.append(f"session {sid}: turns on impossible day {day}")
    return out


def _session_fields(store: Store) -> list[str]:
    out: list[str] = []
    for sid, status in store.fetchall(
        f"SELECT id, status FROM sessions WHERE status NOT IN ({', '.join('?' for _ in _STATUSES)}) "
        "ORDER BY 1",
        list(_STATUSES),
    ):
        out.append(f"session {sid}: unknown status {status!r}")
    for (sid,) in store.fetchall(
        "SELECT id FROM sessions WHERE status = 'failed' AND (failure_reason IS NULL OR trim(failure_reason) = '') "
        "ORDER BY 1"
    ):
        out.append(f"session {sid}: failed without a reason")
    return out


# -- sessions played by the engine -------------------------------------------------------------
def _engine_sessions(store: Store, by_hash: dict[str, Scenario]) -> list[str]:
    cols = "id, kind, source, user_id, language, scenario_hash, status, failure_reason, "
    cols += "position_day, position_state, followups_used, pending_message, pending_npc"
    rows = store.fetchall(
        f"SELECT {cols} FROM sessions WHERE scenario_hash IS NOT NULL OR source IN ('play', 'simulate') "
        "ORDER BY id"
    )
    names = [c.strip() for c in cols.split(",")]
    sessions = [SessionRecord(**dict(zip(names, r, strict=True))) for r in rows]
    turns = load_turns_for(store, [s.id for s in sessions])
    out: list[str] = []
    for rec in sessions:
        scenario = by_hash.get(rec.scenario_hash or "")
        played = turns[rec.id]
        if scenario is not None:
            out += _replay(rec, played, scenario)
        else:
            out += _state_runs(rec, played)
    return out


def _replay(rec: SessionRecord, turns: list[TurnRecord], scenario: Scenario) -> list[str]:
    """Play the turns through the scenario's machine; report the first place they disagree."""
    order = scenario.ordered_states()
    state_ids = {s.id for _, s in order}
    sid = rec.id
    if rec.position_state is not None and rec.position_state not in state_ids:
        return [
            f"session {sid}: positioned on {rec.position_state!r}, not a state of scenario {scenario.id!r}"
        ]
    i, used = 0, 0
    for t in turns:
        where = f"session {sid}: day {t.day} turn {t.idx}"
        if i >= len(order):
            return [f"{where}: stored after the last question of the scenario"]
        day, state = order[i]
        if t.state_id != state.id:
            seen = repr(t.state_id) if t.state_id in state_ids else f"unknown state {t.state_id!r}"
            return [
                f"{where}: answers {seen}, but the turns before lead to {state.id!r} (out of order, repeated or skipped)"
            ]
        if t.day != day:
            return [f"{where}: state {state.id!r} belongs to day {day}"]
        if t.is_followup != (used > 0):
            kind = "a follow-up" if t.is_followup else "a fresh question"
            return [
                f"{where}: stored as {kind} after {used} follow-up(s) on {state.id!r} (asked afresh twice?)"
            ]
        if t.verdict == "follow_up":
            if used >= state.max_followups:
                return [
                    f"{where}: follow-up {used + 1} on {state.id!r}, beyond its bound of {state.max_followups}"
                ]
            used += 1
        elif t.verdict in ("advance", "forced"):
            if t.verdict == "forced" and used < state.max_followups:
                return [f"{where}: moved on by force after {used} of {state.max_followups} follow-ups"]
            i, used = i + 1, 0
        else:
            return [
                f"{where}: verdict {t.verdict!r} on a played turn (expected one of {', '.join(_ENGINE_VERDICTS)})"
            ]
    finished = i >= len(order)
    if finished:
        if rec.status != "complete":
            return [f"session {sid}: every question answered, but status is {rec.status!r}"]
        if rec.position_state is not None:
            return [f"session {sid}: marked complete but still positioned on a question ({len(turns)} turns)"]
        return []
    day, state = order[i]
    if rec.status == "complete":
        missing = sorted({d for d, _ in order[i:]} - {t.day for t in turns})
        days = f"; no turns on day(s) {', '.join(map(str, missing))}" if missing else ""
        return [f"session {sid}: marked complete but {state.id!r} (day {day}) was never answered{days}"]
    if (rec.position_day, rec.position_state, rec.followups_used) != (day, state.id, used):
        return [
            f"session {sid}: positioned on day {rec.position_day} {rec.position_state!r} with "
            f"{rec.followups_used} follow-up(s) used, but its turns lead to day {day} {state.id!r} with {used}"
        ]
    if rec.pending_message is not None:
        speaker = scenario.npc(state.npc).name.get(rec.language)
        if rec.pending_npc != speaker:
            return [
                f"session {sid}: pending line of {rec.pending_npc!r}, but {state.id!r} is asked by {speaker!r}"
            ]
    return []


def _state_runs(rec: SessionRecord, turns: list[TurnRecord]) -> list[str]:
    """The scenario-free rules for an engine session whose scenario is not known here."""
    sid = rec.id
    if rec.status == "complete" and rec.position_state is not None:
        return [f"session {sid}: marked complete but still positioned on a question ({len(turns)} turns)"]
    if rec.position_day is not None and turns and max(t.day for t in turns) > rec.position_day:
        return [
            f"session {sid}: positioned on day {rec.position_day} but has turns on day {max(t.day for t in turns)}"
        ]
    finished: set[str] = set()
    prev: TurnRecord | None = None
    for t in turns:
        if t.state_id is None:
            continue
        where = f"session {sid}: day {t.day} turn {t.idx}"
        same = prev is not None and prev.state_id == t.state_id
        if t.state_id in finished and not same:
            return [
                f"{where}: {t.state_id!r} answered again after the talk had moved on (out of order or repeated)"
            ]
        if not same and t.is_followup:
            return [f"{where}: a follow-up on {t.state_id!r} without a first question"]
        if same and prev is not None and prev.verdict != "follow_up":
            return [f"{where}: {t.state_id!r} asked afresh twice in a row"]
        if prev is not None and not same and prev.verdict == "follow_up":
            return [
                f"{where}: the previous turn asked for a follow-up on {prev.state_id!r}, but this answers {t.state_id!r}"
            ]
        if prev is not None and prev.state_id is not None:
            finished.add(prev.state_id)
        prev = t
    if prev is not None and prev.state_id is not None and rec.status != "complete":
        stays = prev.verdict == "follow_up"
        if stays != (rec.position_state == prev.state_id):
            expect = f"stay on {prev.state_id!r}" if stays else f"move on from {prev.state_id!r}"
            return [
                f"session {sid}: the last verdict ({prev.verdict}) should {expect}, but it is positioned on {rec.position_state!r}"
            ]
    return []


# -- evaluation tables ---------------------------------------------------------------------------
def _columns(store: Store, table: str) -> set[str]:
    return {
        r[0]
        for r in store.fetchall(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
        )
    }


def _evaluation(store: Store) -> list[str]:
    out: list[str] = []
    for table in ("eval_predictions", "eval_scores", "eval_users"):
        for run, n in store.fetchall(
            f"SELECT x.eval_run, count(*) FROM {table} x LEFT JOIN runs r ON r.id = x.eval_run "
            "WHERE r.id IS NULL GROUP BY x.eval_run ORDER BY 1"
        ):
            out.append(f"{n} row(s) of {table} belong to evaluation run {run}, which is not stored")
        for run, kind in store.fetchall(
            f"SELECT DISTINCT x.eval_run, r.kind FROM {table} x JOIN runs r ON r.id = x.eval_run "
            "WHERE r.kind <> 'evaluate' ORDER BY 1"
        ):
            out.append(f"{table} rows belong to run {run}, which is a {kind} run, not an evaluation")
    for table in ("eval_predictions", "eval_users"):
        for run, sid, n in store.fetchall(
            f"SELECT x.eval_run, x.session_id, count(*) FROM {table} x LEFT JOIN sessions s ON s.id = x.session_id "
            "WHERE s.id IS NULL GROUP BY 1, 2 ORDER BY 1, 2"
        ):
            out.append(f"run {run}: {n} row(s) of {table} point at session {sid}, which is not stored")
    for run, sid, day, idx, n in store.fetchall(
        "SELECT p.eval_run, p.session_id, p.day, p.idx, count(*) FROM eval_predictions p "
        "JOIN sessions s ON s.id = p.session_id "
        "LEFT JOIN turns t ON t.session_id = p.session_id AND t.day = p.day AND t.idx = p.idx "
        "WHERE t.session_id IS NULL GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
    ):
        out.append(
            f"run {run}: {n} prediction(s) for session {sid} day {day} turn {idx}, a turn that is not stored"
        )
    # Runs with several seeds key predictions and scores by seed too (schema v5 on).
    seeded = all("seed" in _columns(store, t) for t in ("eval_predictions", "eval_scores"))
    same_seed = "AND p.seed = s.seed " if seeded else ""
    for run, method, model, sid, day, idx in store.fetchall(
        "SELECT s.eval_run, s.method, s.model, s.session_id, s.day, s.idx FROM eval_scores s "
        "LEFT JOIN eval_predictions p ON p.eval_run = s.eval_run AND p.method = s.method "
        "AND p.model = s.model AND p.session_id = s.session_id AND p.day = s.day AND p.idx = s.idx "
        f"{same_seed}WHERE p.eval_run IS NULL ORDER BY 1, 2, 3, 4, 5, 6"
    ):
        out.append(
            f"run {run}: scores for {method} × {model} {sid} day {day} turn {idx} without a prediction"
        )
    return out


# -- study participants ---------------------------------------------------------------------------
def _participants(store: Store) -> list[str]:
    out: list[str] = []
    for pid, status in store.fetchall(
        "SELECT id, status FROM participants WHERE status NOT IN ('active', 'withdrawn') ORDER BY 1"
    ):
        out.append(f"participant {pid}: unknown status {status!r}")
    for pid, sid, owner in store.fetchall(
        "SELECT p.id, p.session_id, s.user_id FROM participants p LEFT JOIN sessions s ON s.id = p.session_id "
        "WHERE p.status = 'active' AND (s.id IS NULL OR s.user_id <> p.id) ORDER BY 1"
    ):
        if owner is None:
            out.append(f"participant {pid}: its game {sid} is not stored")
        else:
            out.append(f"participant {pid}: its game {sid} belongs to user {owner!r}")
    for (pid,) in store.fetchall(
        "SELECT id FROM participants WHERE status = 'active' AND (code_sha256 IS NULL OR nickname IS NULL) "
        "ORDER BY 1"
    ):
        out.append(f"participant {pid}: active without a resume code hash or a nickname")
    for (sid,) in store.fetchall(
        "SELECT id FROM sessions WHERE source = 'study' AND user_id NOT IN (SELECT id FROM participants) ORDER BY 1"
    ):
        out.append(f"session {sid}: a study game of no participant")
    for pid, n in store.fetchall(
        "SELECT p.id, count(s.id) FROM participants p JOIN sessions s ON s.user_id = p.id "
        "WHERE p.status = 'withdrawn' GROUP BY p.id ORDER BY 1"
    ):
        out.append(f"participant {pid}: withdrawn, but {n} session(s) of theirs are stored")
    for pid, n in store.fetchall(
        "SELECT p.id, count(*) FROM participants p JOIN turns t ON t.session_id = p.session_id "
        "WHERE p.status = 'withdrawn' GROUP BY p.id ORDER BY 1"
    ):
        out.append(
            f"participant {pid}: withdrawn, but {n} turn(s) were written to their game afterwards "
            "(sharehouse sessions compact deletes them)"
        )
    for (pid,) in store.fetchall(
        "SELECT id FROM participants WHERE status = 'withdrawn' AND (withdrawn_at IS NULL OR code_sha256 IS NOT NULL "
        "OR nickname IS NOT NULL OR language IS NOT NULL OR self_mbti IS NOT NULL "
        "OR age_band IS NOT NULL OR naturalness IS NOT NULL OR comment IS NOT NULL) ORDER BY 1"
    ):
        out.append(f"participant {pid}: withdrawn, but the tombstone keeps data (or has no withdrawal time)")
    return out
