"""Study participants in the store: registration with consent, resume codes, the post-game
answers, withdrawal and the researcher's view of who is where.

A participant is one row of ``participants`` (schema migration 7) and one game session whose
``user_id`` is the participant's id (``p-<12 hex>``). The nickname is shown in the game only; it is
never a key and never exported. The resume code is stored only as its sha256
(:func:`sharehouse.study.codes.code_sha256`): a lost code cannot be recovered, only a new game begun.

:func:`withdraw` deletes everything of a participant in one transaction and leaves a tombstone row
(id, study, consent version and time, the id of the deleted game, status ``withdrawn``, withdrawal
time; everything else cleared).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict

from sharehouse.lang import canonical
from sharehouse.scenario import Scenario
from sharehouse.store import SessionRecord, Store, new_id
from sharehouse.store.embeddings import text_sha256
from sharehouse.study.codes import code_sha256, new_resume_code, normalize_code
from sharehouse.study.config import MAX_NICKNAME_CHARS, PostAnswers, StudyConfig, normalize_mbti
from sharehouse.study.consent import ConsentText
from sharehouse.textclean import sanitize_input

#: ``sessions.source`` of a study game.
STUDY_SOURCE: Final[str] = "study"
#: ``participants.status`` values.
ParticipantRowStatus = Literal["active", "withdrawn"]
#: What :func:`study_status` says about a participant.
StudyState = Literal["consented", "playing", "finished", "withdrawn"]
#: The states in the order the researcher's table lists them.
STATES: Final[tuple[StudyState, ...]] = ("consented", "playing", "finished", "withdrawn")

_COLS: Final[tuple[str, ...]] = (
    "id", "session_id", "study", "language", "nickname", "consent_version", "consented_at",
    "self_mbti", "age_band", "naturalness", "comment", "answered_at", "status", "withdrawn_at",
    "created_at", "updated_at",
)  # fmt: skip


class ParticipantError(ValueError):
    """A participant operation that cannot be done (the message says why)."""


class UnknownCodeError(ParticipantError, LookupError):
    """No active participant has this resume code (mistyped, or already withdrawn)."""


class Participant(BaseModel):
    """An active participant (a withdrawn one is never returned as a Participant)."""

    model_config = ConfigDict(extra="forbid")

    id: str  # p-<12 hex>; also sessions.user_id of the study game
    session_id: str
    study: str
    language: str
    nickname: str  # display only, never a key
    consent_version: str
    consented_at: datetime
    self_mbti: str | None = None
    age_band: str | None = None
    naturalness: int | None = None
    comment: str | None = None
    answered_at: datetime | None = None
    status: ParticipantRowStatus = "active"
    created_at: datetime
    updated_at: datetime


class ParticipantStatus(BaseModel):
    """One row of the researcher's dashboard."""

    id: str
    study: str
    state: StudyState
    day: int | None = None  # the day being played when ``state`` is playing
    language: str | None = None  # None for a withdrawn participant
    turns: int = 0
    consented_at: datetime
    updated_at: datetime  # the latest change to the participant or their game

    @property
    def label(self) -> str:
        """The state as the dashboard shows it: ``consented``, ``day N``, ``finished``, ``withdrawn``."""
        if self.state == "playing" and self.day is not None:
            return f"day {self.day}"
        return self.state


class Instruments(BaseModel):
    """What a participant answered, as it is exported with their session."""

    self_mbti: str | None = None
    age_band: str | None = None
    naturalness: int | None = None
    comment: str | None = None
    consent_version: str | None = None
    nickname: str | None = None  # not exported: the anonymiser looks for it in the texts


class WithdrawReport(BaseModel):
    """What :func:`withdraw` deleted (or, with ``dry_run``, would delete)."""

    participant_id: str
    study: str
    deleted: bool
    withdrawn_at: datetime | None = None
    sessions: int = 0
    turns: int = 0
    llm_calls: int = 0
    eval_predictions: int = 0
    eval_scores: int = 0
    eval_users: int = 0
    embeddings: int = 0  # cached sentence vectors of the participant's texts and predictions
    llm_cache: int = 0  # cached model completions that are the participant's predictions or fit outputs
    answers: bool = False  # a pre- or post-game answer was stored

    def rows(self) -> list[tuple[str, int]]:
        """(what, how many) for every kind of record, in a fixed order."""
        return [
            ("sessions", self.sessions),
            ("turns", self.turns),
            ("LLM call records", self.llm_calls),
            ("evaluation predictions", self.eval_predictions),
            ("evaluation scores", self.eval_scores),
            ("evaluation user records", self.eval_users),
            ("cached embeddings", self.embeddings),
            ("cached completions", self.llm_cache),
            ("questionnaire answers", int(self.answers)),
        ]


def _clean_nickname(nickname: str) -> str:
    cleaned = " ".join(sanitize_input(nickname).split())
    if not cleaned:
        raise ParticipantError("a nickname is needed (it is only shown in the game)")
    if len(cleaned) > MAX_NICKNAME_CHARS:
        raise ParticipantError(f"a nickname has at most {MAX_NICKNAME_CHARS} characters, not {len(cleaned)}")
    return cleaned


def _row_to_participant(row: Sequence[Any]) -> Participant:
    data = dict(zip(_COLS, row, strict=True))
    data.pop("withdrawn_at")
    return Participant(**data)


def _select(where: str) -> str:
    return f"SELECT {', '.join(_COLS)} FROM participants WHERE {where}"


def register(
    store: Store,
    scenario: Scenario,
    *,
    language: str,
    nickname: str,
    consent: ConsentText,
    study: StudyConfig,
    self_mbti: str | None,
    llm_config: dict[str, Any],
) -> tuple[Participant, str, SessionRecord]:
    """Record a participant who agreed to ``consent`` and start their game, in one transaction.

    Returns the participant, their resume code (two groups of four, ``K7QX-M2PD``; shown to the person, stored only as a
    hash) and the new session (kind ``human``, source ``study``, user id = participant id).
    :class:`ParticipantError` for an empty or too long nickname, an MBTI answer the study does not
    ask for, or a value that is not an MBTI type.
    """
    from sharehouse.engine.session import start_session

    lang = canonical(language)
    name = _clean_nickname(nickname)
    mbti: str | None = None
    if self_mbti is not None:
        if not study.pre_mbti:
            raise ParticipantError(f"the study {study.name!r} does not ask for the participant's MBTI type")
        try:
            mbti = normalize_mbti(self_mbti)
        except ValueError as exc:
            raise ParticipantError(str(exc)) from None
    pid = new_id("p")
    with store.transaction() as conn:
        while True:  # a code already taken (about 1 in 10^11 per participant) is drawn again
            code = new_resume_code()
            digest = code_sha256(code)
            if not conn.execute("SELECT 1 FROM participants WHERE code_sha256 = ?", [digest]).fetchone():
                break
        session = start_session(
            store,
            scenario,
            kind="human",
            source=STUDY_SOURCE,
            user_id=pid,
            language=lang,
            llm_config=llm_config,
        )
        conn.execute(
            "INSERT INTO participants (id, code_sha256, session_id, study, language, nickname, "
            "consent_version, consented_at, self_mbti) VALUES (?, ?, ?, ?, ?, ?, ?, current_timestamp, ?)",
            [pid, digest, session.id, study.name, lang, name, consent.version, mbti],
        )
        row = conn.execute(_select("id = ?"), [pid]).fetchone()
    assert row is not None
    return _row_to_participant(row), code, session


def find_by_code(store: Store, code: str) -> Participant | None:
    """The active participant with this resume code (any typed form); None for a code that is
    malformed, unknown or withdrawn."""
    try:
        digest = code_sha256(code)
    except ValueError:
        return None
    row = store.fetchone(_select("code_sha256 = ? AND status = 'active'"), [digest])
    return _row_to_participant(row) if row else None


def get_participant(store: Store, participant_id: str) -> Participant | None:
    """The active participant with this id, or None."""
    row = store.fetchone(_select("id = ? AND status = 'active'"), [participant_id])
    return _row_to_participant(row) if row else None


def record_post_answers(store: Store, participant_id: str, answers: PostAnswers) -> None:
    """Store the post-game questionnaire (answering again replaces the earlier answers).
    :class:`ParticipantError` when there is no active participant with this id."""
    with store.transaction() as conn:
        found = conn.execute(
            "SELECT 1 FROM participants WHERE id = ? AND status = 'active'", [participant_id]
        ).fetchone()
        if not found:
            raise ParticipantError(f"no active participant {participant_id!r}")
        conn.execute(
            "UPDATE participants SET age_band = ?, naturalness = ?, comment = ?, "
            "answered_at = current_timestamp, updated_at = current_timestamp WHERE id = ?",
            [answers.age_band, answers.naturalness, answers.comment, participant_id],
        )


# -- withdrawal -------------------------------------------------------------------------------
def _in(values: Sequence[Any]) -> str:
    return f"({', '.join('?' for _ in values)})"


def _count(conn: Any, sql: str, params: Sequence[Any]) -> int:
    row = conn.execute(sql, list(params)).fetchone()
    return int(row[0]) if row else 0


def _string_leaves(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _string_leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _string_leaves(v)


def withdraw(store: Store, code: str, *, dry_run: bool = False) -> WithdrawReport:
    """Delete a participant's data everywhere, in one transaction, and keep a tombstone.

    Deleted: every session whose user is the participant, its turns and LLM call records; the
    evaluation predictions, scores and user records of those sessions (or that user); the cached
    sentence vectors of their texts and of the predictions made for them; the cached model
    completions that are those predictions or fit outputs; the answers. The participant row keeps
    its id, study, consent version and time, the id of its (deleted) game, status ``withdrawn`` and
    the withdrawal time; the code hash, language, nickname and answers are cleared. ``dry_run``
    counts without deleting. A game still open when its participant withdraws may write a turn after
    this: :func:`purge_withdrawn` deletes such late rows. DuckDB does not overwrite deleted rows in
    the file: :func:`sharehouse.store.compact.compact_store` rewrites it without them.

    :class:`UnknownCodeError` when no active participant has the code (malformed, mistyped, or
    already withdrawn).
    """
    try:
        digest = code_sha256(code)
    except ValueError as exc:
        raise UnknownCodeError(f"{code!r} is not a resume code: {exc}") from None
    with store.transaction() as conn:
        row = conn.execute(
            "SELECT id, study, session_id, self_mbti, age_band, naturalness, comment FROM participants "
            "WHERE code_sha256 = ? AND status = 'active'",
            [digest],
        ).fetchone()
        if row is None:
            raise UnknownCodeError(
                f"no participant has the code {normalize_code(code)} (mistyped, or already withdrawn)"
            )
        pid, study, own_session = row[0], row[1], row[2]
        answers = any(v not in (None, "") for v in row[3:])
        sids = [r[0] for r in conn.execute("SELECT id FROM sessions WHERE user_id = ?", [pid]).fetchall()]
        if own_session and own_session not in sids:
            sids.append(own_session)
        report = _withdraw_rows(conn, pid, study, sids, answers, dry_run=dry_run)
        if not dry_run:
            conn.execute(
                "UPDATE participants SET status = 'withdrawn', withdrawn_at = current_timestamp, "
                "updated_at = current_timestamp, code_sha256 = NULL, language = NULL, "
                "nickname = NULL, self_mbti = NULL, age_band = NULL, naturalness = NULL, comment = NULL, "
                "answered_at = NULL WHERE id = ?",
                [pid],
            )
            done = conn.execute("SELECT withdrawn_at FROM participants WHERE id = ?", [pid]).fetchone()
            report = report.model_copy(update={"withdrawn_at": done[0] if done else None})
    return report


def purge_withdrawn(store: Store, *, dry_run: bool = False) -> list[WithdrawReport]:
    """Delete whatever was written for withdrawn participants after they withdrew (a game left open
    commits its next turn to the deleted session; an evaluation run may have been going on), in one
    transaction. Returns a report for each withdrawn participant who had anything left."""
    if not _has_participants(store):
        return []
    out: list[WithdrawReport] = []
    with store.transaction() as conn:
        for pid, study, own_session in conn.execute(
            "SELECT id, study, session_id FROM participants WHERE status = 'withdrawn' ORDER BY id"
        ).fetchall():
            sids = [r[0] for r in conn.execute("SELECT id FROM sessions WHERE user_id = ?", [pid]).fetchall()]
            if own_session and own_session not in sids:
                sids.append(own_session)
            report = _withdraw_rows(conn, pid, study, sids, False, dry_run=dry_run)
            if any(n for _, n in report.rows()):
                out.append(report)
    return out


def _withdraw_rows(
    conn: Any, pid: str, study: str, sids: list[str], answers: bool, *, dry_run: bool
) -> WithdrawReport:
    """Count (and unless ``dry_run`` delete) every row that belongs to participant ``pid``."""
    by_session = f"session_id IN {_in(sids)}" if sids else "FALSE"
    by_user = f"({by_session} OR user_id = ?)"
    s_params: list[Any] = list(sids)
    u_params: list[Any] = [*sids, pid]

    # texts whose cached vectors and completions go too: the replies and lines of the games, the
    # predictions made for this person (and the references, which are their replies)
    texts: set[str] = set()
    for message, response in conn.execute(
        f"SELECT message, response FROM turns WHERE {by_session}", s_params
    ).fetchall():
        texts.update((message, response))
    outputs: set[str] = set()
    for prediction, raw, reference in conn.execute(
        f"SELECT prediction, raw, reference FROM eval_predictions WHERE {by_user}", u_params
    ).fetchall():
        texts.update((prediction, raw, reference))
        outputs.update((prediction, raw))
    for (fit_info,) in conn.execute(
        f"SELECT fit_info FROM eval_users WHERE {by_user} AND fit_info IS NOT NULL", u_params
    ).fetchall():
        try:
            outputs.update(s for s in _string_leaves(json.loads(fit_info)) if s.strip())
        except (TypeError, ValueError):
            continue
    hashes = sorted({text_sha256(t) for t in texts | outputs if t})
    outputs_list = sorted(o for o in outputs if o)

    counts: dict[str, int] = {
        "sessions": _count(conn, f"SELECT count(*) FROM sessions WHERE id IN {_in(sids)}", sids)
        if sids
        else 0,
        "turns": _count(conn, f"SELECT count(*) FROM turns WHERE {by_session}", s_params),
        "llm_calls": _count(conn, f"SELECT count(*) FROM llm_calls WHERE {by_session}", s_params),
        "eval_predictions": _count(conn, f"SELECT count(*) FROM eval_predictions WHERE {by_user}", u_params),
        "eval_scores": _count(conn, f"SELECT count(*) FROM eval_scores WHERE {by_session}", s_params),
        "eval_users": _count(conn, f"SELECT count(*) FROM eval_users WHERE {by_user}", u_params),
        "embeddings": _count(
            conn,
            "SELECT count(*) FROM embeddings WHERE text_sha256 IN (SELECT unnest(?::VARCHAR[]))",
            [hashes],
        ),
        "llm_cache": _count(
            conn, "SELECT count(*) FROM llm_cache WHERE text IN (SELECT unnest(?::VARCHAR[]))", [outputs_list]
        ),
    }
    if not dry_run:
        conn.execute(f"DELETE FROM eval_scores WHERE {by_session}", s_params)
        conn.execute(f"DELETE FROM eval_predictions WHERE {by_user}", u_params)
        conn.execute(f"DELETE FROM eval_users WHERE {by_user}", u_params)
        conn.execute("DELETE FROM embeddings WHERE text_sha256 IN (SELECT unnest(?::VARCHAR[]))", [hashes])
        conn.execute("DELETE FROM llm_cache WHERE text IN (SELECT unnest(?::VARCHAR[]))", [outputs_list])
        conn.execute(f"DELETE FROM llm_calls WHERE {by_session}", s_params)
        conn.execute(f"DELETE FROM turns WHERE {by_session}", s_params)
        if sids:
            conn.execute(f"DELETE FROM sessions WHERE id IN {_in(sids)}", sids)
    return WithdrawReport.model_validate(
        {"participant_id": pid, "study": study, "deleted": not dry_run, "answers": answers, **counts}
    )


# -- the researcher's view ----------------------------------------------------------------------
def _has_participants(store: Store) -> bool:
    row = store.fetchone(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'participants' "
        "AND table_schema = current_schema()"
    )
    return bool(row and row[0])


def study_status(store: Store, *, study: str | None = None) -> list[ParticipantStatus]:
    """Every participant (of one study, when given) with the state of their game, oldest first:
    ``consented`` (no reply yet), ``playing`` (on ``day``), ``finished`` (the session is complete)
    or ``withdrawn``. A store that predates participants has none."""
    if not _has_participants(store):
        return []
    sql = (
        "SELECT p.id, p.study, p.status, p.language, p.consented_at, "
        "greatest(p.updated_at, coalesce(s.updated_at, p.updated_at)), s.id, s.status, s.position_day, "
        "(SELECT count(*) FROM turns t WHERE t.session_id = p.session_id) "
        "FROM participants p LEFT JOIN sessions s ON s.id = p.session_id"
    )
    params: list[Any] = []
    if study is not None:
        sql += " WHERE p.study = ?"
        params.append(study)
    out: list[ParticipantStatus] = []
    for pid, name, status, lang, consented, updated, sid, s_status, day, turns in store.fetchall(
        sql + " ORDER BY p.consented_at, p.id", params
    ):
        state: StudyState
        if status == "withdrawn":
            state, day, turns = "withdrawn", None, 0
        elif sid is not None and s_status == "complete":
            state, day = "finished", None
        elif not turns:
            state, day = "consented", None
        else:
            state = "playing"
        out.append(
            ParticipantStatus(
                id=pid,
                study=name,
                state=state,
                day=day,
                language=lang,
                turns=int(turns),
                consented_at=consented,
                updated_at=updated,
            )  # fmt: skip
        )
    return out


def state_counts(rows: Iterable[ParticipantStatus]) -> dict[str, int]:
    """How many participants are in each state label, in the dashboard's order: consented,
    day 1, day 2, …, playing (day unknown), finished, withdrawn. Every state appears, days only when seen."""
    labels = [r.label for r in rows]
    days = sorted({r for r in labels if r.startswith("day ")}, key=lambda s: int(s.split()[1]))
    order = ["consented", *days, "playing", "finished", "withdrawn"]
    counts = {label: labels.count(label) for label in order}
    if not counts["playing"]:
        del counts["playing"]
    return counts


# -- export -----------------------------------------------------------------------------------
def session_instruments(store: Store, session_ids: Sequence[str]) -> dict[str, Instruments]:
    """The instruments of the sessions that belong to an active participant, by session id
    (sessions of nobody's study are absent). A store that predates participants gives none."""
    if not session_ids or not _has_participants(store):
        return {}
    rows = store.fetchall(
        "SELECT session_id, self_mbti, age_band, naturalness, comment, consent_version, nickname "
        "FROM participants WHERE status = 'active' AND session_id IN (SELECT unnest(?::VARCHAR[]))",
        [list(session_ids)],
    )
    return {
        r[0]: Instruments(
            self_mbti=r[1], age_band=r[2], naturalness=r[3], comment=r[4], consent_version=r[5], nickname=r[6]
        )
        for r in rows
    }
