"""The study's data on a real DuckDB file: consent texts, resume codes (stored only hashed), the
instruments, withdrawal that deletes a participant everywhere (evaluation rows included), and the
researcher's status view."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from typer.testing import CliRunner

from sharehouse.cli_study import compact_command, study_app, withdraw_command
from sharehouse.io import COLUMNS, INSTRUMENT_COLUMNS, export_sessions
from sharehouse.scenario import Scenario
from sharehouse.store import LLMCallRecord, Position, SessionRecord, Store, TurnRecord
from sharehouse.store.embeddings import count_embeddings, put_embeddings, text_sha256
from sharehouse.store.evaluation import (
    CachedCompletion,
    PredictionRecord,
    ScoreRecord,
    UserStatusRecord,
    cache_put,
    cache_size,
    insert_prediction,
    put_scores,
    put_user_status,
)
from sharehouse.store.integrity import check_integrity
from sharehouse.study import (
    AGE_BANDS,
    CONSENT_VERSION,
    MBTI_CHOICES,
    STUDY_SOURCE,
    ParticipantError,
    PostAnswers,
    StudyConfig,
    StudyError,
    UnknownCodeError,
    code_sha256,
    consent_text,
    find_by_code,
    load_study,
    new_resume_code,
    normalize_code,
    record_post_answers,
    register,
    study_status,
    withdraw,
)
from sharehouse.study.codes import CODE_ALPHABET
from sharehouse.study.participants import purge_withdrawn, state_counts

CODE_RE = re.compile(r"^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$")
LLM = {"backend": "litellm", "model": "openai/qwen", "api_base": "http://127.0.0.1:9/v1"}
ASKS_ALL = StudyConfig(name="pilot", pre_mbti=True, post_questionnaire=True)


def _join(store: Store, scenario: Scenario, **kw: Any) -> tuple[Any, str, SessionRecord]:
    args: dict[str, Any] = {
        "language": "en", "nickname": "Robin", "study": ASKS_ALL, "self_mbti": "INFJ", "llm_config": LLM,
    }  # fmt: skip
    args.update(kw)
    if "consent" not in args:
        args["consent"] = consent_text(args["language"])
    return register(store, scenario, **args)


def _play(store: Store, scenario: Scenario, session: SessionRecord, replies: list[str]) -> None:
    """Answer the first questions of day 1 as the engine commits them (turn + position together)."""
    states = scenario.day(1).ordered_states()
    for idx, reply in enumerate(replies):
        state, nxt = states[idx], states[idx + 1]
        store.append_turn(
            TurnRecord(
                session_id=session.id,
                day=1,
                idx=idx,
                npc=scenario.npc(state.npc).name.get(session.language),
                message=state.opener.get(session.language),
                response=reply,
                state_id=state.id,
                mbti=state.mbti,
                verdict="advance",
                check_by="rule",
            ),  # fmt: skip
            Position(day=1, state=nxt.id, followups_used=0),
        )


# -- consent -------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["en", "ja", "zh"])
def test_consent_texts_carry_the_version_and_say_what_they_must(lang: str) -> None:
    text = consent_text(lang)
    assert text.version == CONSENT_VERSION and text.language == lang
    assert CONSENT_VERSION in text.body and text.title
    assert "sharehouse sessions withdraw CODE" in text.body  # how to withdraw
    assert "MBTI" in text.body and "K7QX-M2PD" in text.body
    markers = {
        "en": ("replies", "timings", "questionnaire", "published", "train", "anonymised", "nickname"),
        "ja": ("返事", "時間", "アンケート", "公開", "学習", "匿名化", "ニックネーム"),
        "zh": ("回复", "时间", "问卷", "公开", "训练", "匿名", "昵称"),
    }[lang]
    for word in markers:
        assert word in text.body, word
    assert consent_text({"ja": "jp", "zh": "cn", "en": "EN"}[lang]) == text
    with pytest.raises(ValueError, match="en, ja and zh"):
        consent_text("fr")


# -- codes ---------------------------------------------------------------------------------------
def test_new_codes_are_random_unambiguous_and_canonical() -> None:
    codes = {new_resume_code() for _ in range(300)}
    assert len(codes) == 300
    for code in codes:
        assert CODE_RE.match(code) and normalize_code(code) == code
        assert not set(code) & set("01OIL")


@pytest.mark.parametrize(
    "typed",
    [
        "k7qx-m2pd",
        " K7QX M2PD ",
        "k7qxm2pd",
        "K7QX--M2PD",
        "Ｋ７ＱＸ－Ｍ２ＰＤ",
        "K7QXーM2PD",
        "k7qx\tm2pd\n",
    ],
)
def test_normalize_code_accepts_what_people_type(typed: str) -> None:
    assert normalize_code(typed) == "K7QX-M2PD"


@pytest.mark.parametrize(
    ("typed", "says"),
    [("", "nothing was given"), ("K7QX-M2P", "got 7"), ("K7QX-M2PDA", "got 9"), ("K7QX-M2P0", "'0'"),
     ("KIQX-M2PD", "'I'"), ("K7QX-M2P!", "'!'"), ("hello", "has no 'L' 'O'")],
)  # fmt: skip
def test_normalize_code_rejects_malformed_codes_clearly(typed: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        normalize_code(typed)


_codes = st.text(alphabet=CODE_ALPHABET, min_size=8, max_size=8)


@given(raw=_codes, spaces=st.lists(st.sampled_from([" ", "-", "\t", "　", "ー"]), min_size=8, max_size=8),
       lower=st.lists(st.booleans(), min_size=8, max_size=8))  # fmt: skip
def test_normalize_code_round_trips(raw: str, spaces: list[str], lower: list[bool]) -> None:
    canonical = f"{raw[:4]}-{raw[4:]}"
    typed = "".join(
        (ch.lower() if low else ch) + sep for ch, sep, low in zip(raw, spaces, lower, strict=True)
    )
    assert normalize_code(typed) == canonical
    assert normalize_code(canonical) == canonical
    assert code_sha256(typed) == code_sha256(canonical)


@given(text=st.text(max_size=30))
def test_normalize_code_either_rejects_or_gives_a_canonical_code(text: str) -> None:
    try:
        code = normalize_code(text)
    except ValueError:
        return
    assert CODE_RE.match(code) and normalize_code(code) == code


# -- study files and answers ---------------------------------------------------------------------
def test_load_study_json_and_toml(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text('{"name": "spring", "pre_mbti": true}', encoding="utf-8")
    assert load_study(tmp_path / "s.json") == StudyConfig(name="spring", pre_mbti=True)
    (tmp_path / "s.toml").write_text("name = 'autumn'\npost_questionnaire = true\n", encoding="utf-8")
    assert load_study(tmp_path / "s.toml") == StudyConfig(name="autumn", post_questionnaire=True)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ('{"pre_mbti": "often"}', "field 'pre_mbti'"),
        ('{"pre_mbit": true}', "field 'pre_mbit': Extra inputs are not permitted"),
        ('{"name": "a b"}', "field 'name'"),
        ('{"name": ', "line 1 column 10: not valid JSON"),
        ("[1, 2]", "is an object"),
    ],
)
def test_bad_study_files_name_the_file_and_field(tmp_path: Path, content: str, says: str) -> None:
    path = tmp_path / "study.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(StudyError, match=re.escape(says)) as err:
        load_study(path)
    assert str(path) in str(err.value)
    with pytest.raises(StudyError, match="cannot read"):
        load_study(tmp_path / "missing.json")


def test_choices() -> None:
    assert len(MBTI_CHOICES) == 17 and MBTI_CHOICES[-1] == "unknown" and "INTP" in MBTI_CHOICES
    assert "18-24" in AGE_BANDS and "prefer-not-to-say" in AGE_BANDS


def test_post_answers_are_validated_with_clear_errors() -> None:
    assert PostAnswers(age_band="25-34", naturalness=5, comment="  fun\x1b[31m  ").comment == "fun"
    assert PostAnswers() == PostAnswers(age_band=None, naturalness=None, comment="")
    with pytest.raises(ValidationError, match="naturalness must be from 1 to 5, not 6"):
        PostAnswers(naturalness=6)
    with pytest.raises(ValidationError, match="naturalness must be from 1 to 5, not 0"):
        PostAnswers(naturalness=0)
    with pytest.raises(ValidationError, match="whole number"):
        PostAnswers(naturalness="4")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="age band must be one of"):
        PostAnswers(age_band="12")
    with pytest.raises(ValidationError, match="at most 2000 characters"):
        PostAnswers(comment="x" * 2001)
    with pytest.raises(ValidationError):
        PostAnswers(score=3)  # type: ignore[call-arg]


# -- registration and codes in the store -----------------------------------------------------------
def test_register_then_find_by_code(store: Store, scenario: Scenario) -> None:
    participant, code, session = _join(store, scenario, language="ja", self_mbti="infj")
    assert CODE_RE.match(code)
    assert re.fullmatch(r"p-[0-9a-f]{12}", participant.id)
    assert participant.session_id == session.id and participant.nickname == "Robin"
    assert participant.self_mbti == "INFJ" and participant.consent_version == CONSENT_VERSION
    assert participant.consented_at is not None and participant.study == "pilot"
    assert (session.kind, session.source, session.user_id) == ("human", STUDY_SOURCE, participant.id)
    assert session.language == "ja" and session.llm_config == LLM
    assert session.position_day == 1 and session.position_state is not None  # at the first question

    assert find_by_code(store, code) == participant
    assert find_by_code(store, "  " + code.lower().replace("-", " ")) == participant
    assert find_by_code(store, "2222-2222") is None
    assert find_by_code(store, "not a code") is None

    other, other_code, _ = _join(store, scenario, nickname="Robin")  # the same nickname: another person
    assert other.id != participant.id and other_code != code
    assert find_by_code(store, other_code) == other
    assert check_integrity(store, [scenario]) == []


def _text_hits(store: Store, needles: list[str]) -> dict[str, list[str]]:
    """needle -> every table.column (text, JSON, text lists) of the store whose values contain it
    (case-insensitive)."""
    hits: dict[str, list[str]] = {}
    for table, column, kind in store.fetchall(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'main' ORDER BY table_name, column_name"
    ):
        if kind not in ("VARCHAR", "JSON", "VARCHAR[]"):
            continue
        for needle in needles:
            found = store.fetchone(
                f'SELECT count(*) FROM "{table}" WHERE strpos(upper(CAST("{column}" AS VARCHAR)), upper(?)) > 0',
                [needle],
            )
            if found and found[0]:
                hits.setdefault(needle, []).append(f"{table}.{column}")
    return hits


def test_the_code_is_stored_only_hashed(tmp_path: Path, scenario: Scenario) -> None:
    db = tmp_path / "study.duckdb"
    with Store(db) as store:
        participant, code, _ = _join(store, scenario, nickname="Quillon Marsh")
        assert store.fetchone("SELECT code_sha256 FROM participants") == (code_sha256(code),)
    data = db.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("study.duckdb*") if p != db)
    assert b"Quillon Marsh" in data  # plain strings of the table are visible in the file's bytes ...
    for form in (code, code.replace("-", ""), code.lower(), code.replace("-", "").lower()):
        assert form.encode() not in data  # ... the code is not, in any form
    with Store(db) as store:  # and no text column anywhere holds it
        assert _text_hits(store, [code, code.replace("-", "")]) == {}
        assert find_by_code(store, code) == participant


def test_register_refuses_bad_input_and_stores_nothing(store: Store, scenario: Scenario) -> None:
    with pytest.raises(ParticipantError, match="nickname is needed"):
        _join(store, scenario, nickname=" \x1b[2J \t")
    with pytest.raises(ParticipantError, match="at most 60"):
        _join(store, scenario, nickname="x" * 61)
    with pytest.raises(ParticipantError, match="not an MBTI type"):
        _join(store, scenario, self_mbti="ABCD")
    with pytest.raises(ParticipantError, match="does not ask"):
        _join(store, scenario, study=StudyConfig(), self_mbti="INTJ")
    with pytest.raises(ValueError, match="unknown language"):
        _join(store, scenario, language="fr", consent=consent_text("en"))
    assert store.fetchone("SELECT count(*) FROM participants") == (0,)
    assert store.fetchone("SELECT count(*) FROM sessions") == (0,)
    p, _, _ = _join(store, scenario, self_mbti="don't know", nickname="  Sam\n  Lee ")
    assert p.self_mbti == "unknown" and p.nickname == "Sam Lee"
    q, _, _ = _join(store, scenario, study=StudyConfig(), self_mbti=None)
    assert q.self_mbti is None and q.study == "default"


def test_post_answers_are_stored(store: Store, scenario: Scenario) -> None:
    participant, code, _ = _join(store, scenario)
    record_post_answers(store, participant.id, PostAnswers(age_band="35-44", naturalness=2, comment="stiff"))
    got = find_by_code(store, code)
    assert got is not None and (got.age_band, got.naturalness, got.comment) == ("35-44", 2, "stiff")
    assert got.answered_at is not None
    record_post_answers(store, participant.id, PostAnswers(naturalness=3))  # answering again replaces
    got = find_by_code(store, code)
    assert got is not None and (got.age_band, got.naturalness, got.comment) == (None, 3, "")
    with pytest.raises(ParticipantError, match="no active participant"):
        record_post_answers(store, "p-000000000000", PostAnswers())


# -- the researcher's view ---------------------------------------------------------------------------
def test_study_status_follows_each_game(store: Store, scenario: Scenario) -> None:
    assert study_status(store) == []
    fresh, _, _ = _join(store, scenario)
    playing, _, s_playing = _join(store, scenario, language="zh")
    _play(store, scenario, s_playing, ["我喜欢安静", "周末去爬山"])
    done, _, s_done = _join(store, scenario)
    _play(store, scenario, s_done, ["yes, the big room"])
    store.set_status(s_done.id, "complete")
    gone, gone_code, _ = _join(store, scenario)
    withdraw(store, gone_code)

    rows = {r.id: r for r in study_status(store)}
    assert [rows[p.id].label for p in (fresh, playing, done, gone)] == [
        "consented",
        "day 1",
        "finished",
        "withdrawn",
    ]
    assert rows[playing.id].turns == 2 and rows[playing.id].language == "zh" and rows[playing.id].day == 1
    assert rows[gone.id].language is None and rows[gone.id].turns == 0
    assert state_counts(rows.values()) == {"consented": 1, "day 1": 1, "finished": 1, "withdrawn": 1}
    assert study_status(store, study="other") == []


def test_study_status_on_a_store_without_participants(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sharehouse.store import db as store_db
    from sharehouse.store import schema

    monkeypatch.setattr(
        store_db, "MIGRATIONS", [m for m in schema.MIGRATIONS if m.name != "study_participants"]
    )
    Store(tmp_path / "old.duckdb").close()
    monkeypatch.setattr(store_db, "MIGRATIONS", schema.MIGRATIONS)
    with Store(tmp_path / "old.duckdb", read_only=True) as old:
        assert study_status(old) == []
    with Store(tmp_path / "old.duckdb") as new:  # opened for writing: migrated
        assert new.schema_version() == max(m.version for m in schema.MIGRATIONS)
        assert study_status(new) == []


# -- withdrawal ----------------------------------------------------------------------------------
def _evaluate(store: Store, session: SessionRecord, user: str, references: list[str]) -> None:
    """Evaluation rows for one user, written through the evaluation store functions, with the cached
    completions and sentence vectors scoring would leave."""
    run = "ev-study"
    store.upsert_run(run, "evaluate", {"seed": 0})
    texts = [f"{user} likes quiet mornings"]
    for idx, reference in enumerate(references):
        prediction = f"{user} would say {idx}"
        insert_prediction(
            store,
            PredictionRecord(
                eval_run=run,
                method="zero-shot",
                model="local:small",
                user_id=user,
                language=session.language,
                session_id=session.id,
                day=5,
                idx=idx,
                message=f"question {idx}",
                reference=reference,
                prediction=prediction,
                raw=f"{prediction}!",
                params={"seed": 0},
            ),  # fmt: skip
        )
        put_scores(
            store,
            [ScoreRecord(eval_run=run, method="zero-shot", model="local:small", session_id=session.id, day=5,
                         idx=idx, m1=0.4, m2=0.5, m3=0.1, m4=0.9, m5=0.8, m6=0.3)],
        )  # fmt: skip
        cache_put(store, CachedCompletion(key=f"{user}-{idx}", model="local:small", text=f"{prediction}!"))
        texts += [reference, prediction]
    put_user_status(
        store,
        UserStatusRecord(eval_run=run, method="zero-shot", model="local:small", session_id=session.id,
                         user_id=user, language=session.language, status="ok",
                         fit_info={"profile": f"{user} likes quiet mornings", "steps": [1, 2]}),
    )  # fmt: skip
    cache_put(
        store, CachedCompletion(key=f"{user}-fit", model="local:small", text=f"{user} likes quiet mornings")
    )
    put_embeddings(store, "all-MiniLM-L6-v2", {text_sha256(t): np.ones(4, dtype=np.float32) for t in texts})


def _rows_of(store: Store, user: str, sessions: list[str]) -> dict[str, int]:
    marks = ", ".join("?" for _ in sessions)
    queries = {
        "sessions": (
            f"SELECT count(*) FROM sessions WHERE user_id = ? OR id IN ({marks})",
            [user, *sessions],
        ),
        "turns": (f"SELECT count(*) FROM turns WHERE session_id IN ({marks})", sessions),
        "llm_calls": (f"SELECT count(*) FROM llm_calls WHERE session_id IN ({marks})", sessions),
        "eval_predictions": (
            f"SELECT count(*) FROM eval_predictions WHERE user_id = ? OR session_id IN ({marks})",
            [user, *sessions],
        ),
        "eval_scores": (f"SELECT count(*) FROM eval_scores WHERE session_id IN ({marks})", sessions),
        "eval_users": (
            f"SELECT count(*) FROM eval_users WHERE user_id = ? OR session_id IN ({marks})",
            [user, *sessions],
        ),
    }
    return {k: int(store.fetchall(sql, params)[0][0]) for k, (sql, params) in queries.items()}


def test_withdraw_deletes_everything_and_keeps_a_tombstone(store: Store, scenario: Scenario) -> None:
    gone, code, session = _join(store, scenario, nickname="Quillon")
    _play(store, scenario, session, ["the big room", "mornings, before anyone is up"])
    store.log_llm_call(LLMCallRecord(session_id=session.id, day=1, purpose="npc", model="m"))
    record_post_answers(store, gone.id, PostAnswers(age_band="18-24", naturalness=4, comment="cosy"))
    _evaluate(store, session, gone.id, ["the big room", "mornings, before anyone is up"])
    stays, stays_code, other = _join(store, scenario, nickname="Stays")
    _play(store, scenario, other, ["the small one"])
    _evaluate(store, other, stays.id, ["the small one"])
    before_other = _rows_of(store, stays.id, [other.id])
    embeddings, cached = count_embeddings(store), cache_size(store)

    preview = withdraw(store, code.lower(), dry_run=True)
    assert not preview.deleted and preview.turns == 2 and find_by_code(store, code) is not None

    report = withdraw(store, code)
    assert report.deleted and report.participant_id == gone.id and report.withdrawn_at is not None
    assert (report.sessions, report.turns, report.llm_calls) == (1, 2, 1)
    assert (report.eval_predictions, report.eval_scores, report.eval_users) == (2, 2, 1)
    assert report.answers and report.llm_cache == 3  # both predictions' raw outputs and the fitted profile
    assert (
        report.embeddings == 5 and count_embeddings(store) == embeddings - 5
    )  # 2 replies, 2 predictions, profile
    assert cache_size(store) == cached - 3
    assert report.model_dump(exclude={"withdrawn_at"}) == preview.model_dump(exclude={"withdrawn_at"}) | {
        "deleted": True
    }
    assert _rows_of(store, gone.id, [session.id]) == dict.fromkeys(before_other, 0)
    tomb = store.fetchone(
        "SELECT status, withdrawn_at, code_sha256, language, nickname, self_mbti, age_band, "
        "naturalness, comment, answered_at, consent_version, study, session_id FROM participants WHERE id = ?",
        [gone.id],
    )
    assert tomb is not None and tomb[0] == "withdrawn" and tomb[1] is not None
    assert tomb[2:10] == (None,) * 8 and tomb[10:] == (CONSENT_VERSION, "pilot", session.id)
    assert _text_hits(store, ["Quillon", "mornings, before", gone.id, session.id]) == {
        gone.id: ["participants.id"],
        session.id: ["participants.session_id"],  # the id of the deleted game: to catch late writes
    }

    assert find_by_code(store, code) is None
    with pytest.raises(UnknownCodeError, match="already withdrawn"):
        withdraw(store, code)
    with pytest.raises(UnknownCodeError, match="not a resume code"):
        withdraw(store, "hello")
    # the other participant is untouched
    assert _rows_of(store, stays.id, [other.id]) == before_other
    assert find_by_code(store, stays_code) == stays
    problems = check_integrity(store, [scenario])  # (the fixture's day-5 predictions have no day-5 turns)
    assert not [p for p in problems if session.id in p or gone.id in p]


def test_withdraw_takes_every_session_of_the_participant(store: Store, scenario: Scenario) -> None:
    """A second session with the participant's user id (e.g. made by hand) goes too."""
    p, code, session = _join(store, scenario)
    extra = store.create_session(
        SessionRecord(id="s-extra", kind="human", source=STUDY_SOURCE, user_id=p.id, language="en")
    )
    store.append_turn(TurnRecord(session_id=extra.id, day=1, idx=0, npc="Leo", message="m", response="r"))
    report = withdraw(store, code)
    assert report.sessions == 2 and report.turns == 1
    assert store.fetchone("SELECT count(*) FROM sessions") == (0,)
    assert json.loads(report.model_dump_json())["participant_id"] == p.id


# -- the command line ----------------------------------------------------------------------------
@pytest.fixture
def cli() -> typer.Typer:
    """``study`` and ``sessions withdraw`` as :mod:`sharehouse.cli` mounts them."""
    app = typer.Typer()
    sessions = typer.Typer()
    sessions.command("withdraw")(withdraw_command)
    sessions.command("compact")(compact_command)
    app.add_typer(sessions, name="sessions")
    app.add_typer(study_app, name="study")
    return app


def _study_db(tmp_path: Path, scenario: Scenario) -> tuple[Path, dict[str, str]]:
    """A store with participants in every state; returns the path and each one's code."""
    db = tmp_path / "study.duckdb"
    codes: dict[str, str] = {}
    with Store(db) as store:
        _, codes["fresh"], _ = _join(store, scenario, nickname="Nick Fresh")
        _, codes["playing"], s = _join(store, scenario, language="ja", nickname="Nick Playing")
        _play(store, scenario, s, ["はい", "朝です"])
        _, codes["done"], s = _join(store, scenario, nickname="Nick Done")
        _play(store, scenario, s, ["sure thing, the loft"])
        store.set_status(s.id, "complete")
        _, codes["gone"], _ = _join(store, scenario, nickname="Nick Gone")
        withdraw(store, codes["gone"])
    return db, codes


def test_cli_study_status(cli: typer.Typer, tmp_path: Path, scenario: Scenario) -> None:
    runner = CliRunner()
    Store(tmp_path / "empty.duckdb").close()
    empty = runner.invoke(cli, ["study", "status", "--db", str(tmp_path / "empty.duckdb")])
    assert empty.exit_code == 0 and "No participants yet." in empty.output

    db, codes = _study_db(tmp_path, scenario)
    result = runner.invoke(cli, ["study", "status", "--db", str(db)])
    assert result.exit_code == 0, result.output
    counts = re.findall(r"│ (consented|day 1|finished|withdrawn|all)\s*│\s*(\d+) │", result.output)
    assert counts == [("consented", "1"), ("day 1", "1"), ("finished", "1"), ("withdrawn", "1"), ("all", "4")]
    assert "Nick" not in result.output and not any(code in result.output for code in codes.values())

    as_json = runner.invoke(cli, ["study", "status", "--db", str(db), "--json"])
    assert as_json.exit_code == 0
    payload = json.loads(as_json.output)
    assert payload["counts"] == {"consented": 1, "day 1": 1, "finished": 1, "withdrawn": 1}
    assert [p["label"] for p in payload["participants"]] == ["consented", "day 1", "finished", "withdrawn"]
    assert payload["participants"][1]["language"] == "ja" and payload["participants"][1]["turns"] == 2
    assert "Nick" not in as_json.output
    other = json.loads(
        runner.invoke(cli, ["study", "status", "--db", str(db), "--json", "--study", "x"]).output
    )
    assert other == {"counts": {"consented": 0, "finished": 0, "withdrawn": 0}, "participants": []}


def test_cli_withdraw(cli: typer.Typer, tmp_path: Path, scenario: Scenario) -> None:
    runner = CliRunner()
    db, codes = _study_db(tmp_path, scenario)

    unknown = runner.invoke(cli, ["sessions", "withdraw", "2222-3333", "--db", str(db), "--yes"])
    assert unknown.exit_code == 1 and "no participant has the code 2222-3333" in unknown.output
    again = runner.invoke(cli, ["sessions", "withdraw", codes["gone"], "--db", str(db), "--yes"])
    assert again.exit_code == 1 and "already withdrawn" in again.output
    malformed = runner.invoke(cli, ["sessions", "withdraw", "s-123", "--db", str(db)])
    assert malformed.exit_code == 2 and "is not a resume code" in malformed.output

    declined = runner.invoke(cli, ["sessions", "withdraw", codes["playing"], "--db", str(db)], input="n\n")
    assert declined.exit_code == 1 and "to be deleted" in declined.output
    assert "nothing was deleted" in declined.output
    with Store(db) as store:
        assert find_by_code(store, codes["playing"]) is not None

    typed = codes["playing"].lower().replace("-", " ")
    done = runner.invoke(cli, ["sessions", "withdraw", typed, "--db", str(db)], input="y\n")
    assert done.exit_code == 0, done.output
    assert re.search(r"│ turns\s*│\s*2 │", done.output) and re.search(r"│ sessions\s*│\s*1 │", done.output)
    assert "deleted" in done.output and "Withdrawn at" in done.output and "sessions compact" in done.output
    with Store(db) as store:
        assert find_by_code(store, codes["playing"]) is None
        assert _text_hits(store, ["Nick Playing", "朝です"]) == {}
        assert [r.label for r in study_status(store)].count("withdrawn") == 2
        before = (
            check_integrity(store, [scenario]),
            store.fetchall("SELECT * FROM participants ORDER BY id"),
        )
    # (DuckDB 2.0 leaves the deleted rows' bytes in the file's free blocks ...)

    kept = runner.invoke(cli, ["sessions", "compact", "--db", str(db)], input="n\n")
    assert kept.exit_code == 1 and "nothing was changed" in kept.output
    compacted = runner.invoke(cli, ["sessions", "compact", "--db", str(db)], input="y\n")
    assert compacted.exit_code == 0 and "Compacted" in compacted.output
    data = db.read_bytes()
    assert b"Nick Playing" not in data and "朝です".encode() not in data  # ... until it is compacted
    assert b"Nick Done" in data  # the others' rows are all there
    with Store(db) as store:
        assert find_by_code(store, codes["done"]) is not None
        assert (
            check_integrity(store, [scenario]),
            store.fetchall("SELECT * FROM participants ORDER BY id"),
        ) == before

    last = runner.invoke(cli, ["sessions", "withdraw", codes["done"], "--db", str(db), "--yes", "--compact"])
    assert last.exit_code == 0 and "Compacted" in last.output
    assert b"Nick Done" not in db.read_bytes() and b"Nick Fresh" in db.read_bytes()


def test_cli_entry_point_mounts_the_commands(tmp_path: Path, scenario: Scenario) -> None:
    db, codes = _study_db(tmp_path, scenario)
    env = {**os.environ, "SHAREHOUSE_DB": str(db)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sharehouse.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    out = run("sessions", "withdraw", codes["done"], "--yes")
    assert out.returncode == 0, out.stderr
    status = run("study", "status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["counts"]["withdrawn"] == 2
    assert run("sessions", "withdraw", codes["done"], "--yes").returncode == 1


# -- export --------------------------------------------------------------------------------------
def _export_db(store: Store, scenario: Scenario) -> dict[str, SessionRecord]:
    answered, _, s_answered = _join(store, scenario, nickname="Quillon")
    _play(store, scenario, s_answered, ["Quillon here, I like the attic", "tea, always"])
    record_post_answers(
        store, answered.id, PostAnswers(age_band="25-34", naturalness=4, comment="Quillon thinks Leo was fun")
    )
    silent, _, s_silent = _join(store, scenario, study=StudyConfig(name="quiet"), self_mbti=None)
    _play(store, scenario, s_silent, ["hello"])
    plain = store.create_session(
        SessionRecord(id="s-sim", kind="simulated", source="simulate", user_id="p-en-001", language="en")
    )
    store.append_turn(TurnRecord(session_id=plain.id, day=1, idx=0, npc="Leo", message="hi?", response="hey"))
    return {"answered": s_answered, "silent": s_silent, "plain": plain}


def test_export_carries_the_instruments(store: Store, scenario: Scenario, tmp_path: Path) -> None:
    sessions = _export_db(store, scenario)
    export_sessions(store, tmp_path / "t.jsonl", "jsonl")
    rows = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text(encoding="utf-8").splitlines()]
    assert all(list(r) == list(COLUMNS) for r in rows) and set(INSTRUMENT_COLUMNS) <= set(COLUMNS)
    by_session = {sid: [r for r in rows if r["session_id"] == s.id] for sid, s in sessions.items()}
    assert len(by_session["answered"]) == 2
    for row in by_session["answered"]:
        assert {c: row[c] for c in INSTRUMENT_COLUMNS} == {
            "self_mbti": "INFJ", "age_band": "25-34", "naturalness": 4,
            "comment": "Quillon thinks Leo was fun", "consent_version": CONSENT_VERSION,
        }  # fmt: skip
    silent = by_session["silent"][0]
    assert {c: silent[c] for c in INSTRUMENT_COLUMNS} == {
        "self_mbti": None, "age_band": None, "naturalness": None, "comment": None, "consent_version": CONSENT_VERSION,
    }  # fmt: skip
    assert all(by_session["plain"][0][c] is None for c in INSTRUMENT_COLUMNS)

    export_sessions(store, tmp_path / "t.parquet", "parquet")
    with duckdb.connect() as con:
        types = dict(
            con.execute(
                f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM '{tmp_path / 't.parquet'}')"
            ).fetchall()
        )
        got = con.execute(
            f"SELECT DISTINCT session_id, self_mbti, age_band, naturalness, comment, consent_version "
            f"FROM '{tmp_path / 't.parquet'}' ORDER BY session_id"
        ).fetchall()
    assert types["naturalness"] == "INTEGER" and types["self_mbti"] == "VARCHAR"
    assert (sessions["answered"].id, "INFJ", "25-34", 4, "Quillon thinks Leo was fun", CONSENT_VERSION) in got
    assert ("s-sim", None, None, None, None, None) in got

    # anonymised: the nickname is looked for in the replies and the comment, and exported nowhere
    export_sessions(store, tmp_path / "a.jsonl", "jsonl", anonymize=True, salt="k")
    text = (tmp_path / "a.jsonl").read_text(encoding="utf-8")
    assert "Quillon" not in text and "[NAME] thinks Leo was fun" in text and "[NAME] here" in text
    assert sessions["answered"].user_id not in text  # ids are pseudonyms

    # the YNTP export keeps its own format
    export_sessions(store, tmp_path / "yntp", "yntp")
    files = sorted((tmp_path / "yntp").rglob("*.json"))
    assert len(files) == 3
    for f in files:
        doc = json.loads(f.read_text(encoding="utf-8"))
        assert set(doc) == {f"day_{d}" for d in range(1, 6)}
        assert all(set(t) == {"speaker", "message", "response"} for day in doc.values() for t in day)


def test_withdrawn_participants_leave_the_export(store: Store, scenario: Scenario, tmp_path: Path) -> None:
    sessions = _export_db(store, scenario)
    _, code, session = _join(store, scenario, nickname="Leaving")
    _play(store, scenario, session, ["I was here"])
    withdraw(store, code)
    report = export_sessions(store, tmp_path / "t.jsonl", "jsonl")
    text = (tmp_path / "t.jsonl").read_text(encoding="utf-8")
    assert report.sessions == len(sessions) and session.id not in text and "I was here" not in text


def test_integrity_check_finds_damaged_participants(store: Store, scenario: Scenario) -> None:
    a, _, s_a = _join(store, scenario)
    b, code_b, _ = _join(store, scenario)
    c, code_c, _ = _join(store, scenario)
    withdraw(store, code_b)
    withdraw(store, code_c)
    assert check_integrity(store, [scenario]) == []
    store.execute("UPDATE participants SET nickname = 'back' WHERE id = ?", [c.id])
    store.create_session(
        SessionRecord(id="s-left", kind="human", source=STUDY_SOURCE, user_id=b.id, language="en")
    )
    store.create_session(
        SessionRecord(id="s-nobody", kind="human", source=STUDY_SOURCE, user_id="bob", language="en")
    )
    store.execute("UPDATE sessions SET user_id = 'mallory' WHERE id = ?", [s_a.id])
    problems = check_integrity(store, [scenario])
    assert f"participant {a.id}: its game {s_a.id} belongs to user 'mallory'" in problems
    assert f"participant {b.id}: withdrawn, but 1 session(s) of theirs are stored" in problems
    assert (
        f"participant {c.id}: withdrawn, but the tombstone keeps data (or has no withdrawal time)" in problems
    )
    assert "session s-nobody: a study game of no participant" in problems
    assert f"session {s_a.id}: a study game of no participant" in problems
    store.delete_session(s_a.id)
    assert f"participant {a.id}: its game {s_a.id} is not stored" in check_integrity(store, [scenario])


def test_compact_store_refuses_a_missing_file(tmp_path: Path) -> None:
    from sharehouse.store import StoreError
    from sharehouse.store.compact import compact_store

    with pytest.raises(StoreError, match="no database at"):
        compact_store(tmp_path / "none.duckdb")
    assert not list(tmp_path.iterdir())


def test_late_writes_of_a_withdrawn_game_are_found_and_purged(
    cli: typer.Typer, tmp_path: Path, scenario: Scenario
) -> None:
    """The participant withdraws while their game is still open; the game commits one more turn."""
    db = tmp_path / "late.duckdb"
    with Store(db) as store:
        p, code, session = _join(store, scenario)
        _play(store, scenario, session, ["first answer"])
        withdraw(store, code)
        assert purge_withdrawn(store) == []
        store.append_turn(
            TurnRecord(
                session_id=session.id, day=1, idx=1, npc="Leo", message="next?", response="written late"
            ),
            Position(day=1, state="x"),
        )
        store.log_llm_call(LLMCallRecord(session_id=session.id, day=1, purpose="npc"))
        problems = check_integrity(store, [scenario])
        assert any(
            m.startswith(f"participant {p.id}: withdrawn, but 1 turn(s) were written") for m in problems
        )
        preview = purge_withdrawn(store, dry_run=True)
        assert [(r.participant_id, r.turns, r.llm_calls, r.deleted) for r in preview] == [(p.id, 1, 1, False)]
    result = CliRunner().invoke(cli, ["sessions", "compact", "--db", str(db), "--yes"])
    assert result.exit_code == 0, result.output
    assert "written later, deleted" in result.output and b"written late" not in db.read_bytes()
    with Store(db) as store:
        assert check_integrity(store, [scenario]) == [] and purge_withdrawn(store) == []
    for args in (
        ["sessions", "compact", "--yes"],
        ["sessions", "withdraw", "2222-3333", "--yes"],
        ["study", "status"],
    ):
        missing = CliRunner().invoke(cli, [*args, "--db", str(tmp_path / "no.duckdb")])
        assert missing.exit_code == 2 and "no database at" in missing.output, args
        assert not (tmp_path / "no.duckdb").exists()


_WRITER = """
import sys
from sharehouse.store import Store, TurnRecord
store = Store(sys.argv[1], shared=True)
for i in range(int(sys.argv[2])):
    store.append_turn(TurnRecord(session_id="s-w", day=1, idx=i, npc="Leo", message=f"q{i}", response=f"r{i}"))
    print(i, flush=True)
"""


def test_compaction_while_shared_writers_write_loses_nothing(tmp_path: Path, scenario: Scenario) -> None:
    """Games of `serve` (shared stores) keep committing turns while the file is compacted: they wait
    for the compaction's turn at the file, then write to the new file. Every reported turn is there."""
    from sharehouse.store.compact import compact_store

    db = tmp_path / "busy.duckdb"
    with Store(db) as store:
        store.create_session(SessionRecord(id="s-w", kind="human", source="play", user_id="w", language="en"))
        _, code, _ = _join(store, scenario, nickname="Gone Soon")
        withdraw(store, code)
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(db), "40"],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    assert writer.stdout is not None
    reported = [writer.stdout.readline() for _ in range(5)]  # writing has begun
    compact_store(db)
    assert writer.poll() is None  # the writer was still going: it waited for the compaction's turn
    reported += writer.stdout.readlines()
    assert writer.wait(timeout=120) == 0
    assert len(reported) == 40
    with Store(db) as store:
        assert [t.response for t in store.load_turns("s-w")] == [f"r{i}" for i in range(40)]
    assert b"Gone Soon" not in db.read_bytes()
