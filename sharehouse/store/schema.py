"""The database schema as an ordered list of migrations. The only place that defines tables.

A migration is applied once, in one transaction, and recorded in ``schema_migrations``.
Add a new migration at the end of :data:`MIGRATIONS`; never edit one that has shipped.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


CORE = Migration(
    1,
    "core",
    (
        """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,              -- simulate | evaluate | play | import
            config JSON,
            status TEXT NOT NULL DEFAULT 'running',
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        )
        """,
        """
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,              -- human | simulated
            source TEXT NOT NULL,            -- play | simulate | yntp100 | import:<name>
            run_id TEXT,
            user_id TEXT NOT NULL,           -- who answered: participant id, persona id or dataset user
            persona_id TEXT,
            language TEXT NOT NULL,          -- en | ja | zh
            scenario_id TEXT,
            scenario_hash TEXT,
            llm_config JSON,                 -- backend/model settings (never API keys)
            status TEXT NOT NULL DEFAULT 'active',   -- active | complete | failed
            failure_reason TEXT,
            position_day INTEGER,
            position_state TEXT,
            followups_used INTEGER NOT NULL DEFAULT 0,
            pending_message TEXT,            -- NPC line shown but not yet answered
            pending_npc TEXT,
            origin TEXT,                     -- original file name for imports
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        )
        """,
        """
        CREATE TABLE turns (
            session_id TEXT NOT NULL,
            day INTEGER NOT NULL,
            idx INTEGER NOT NULL,            -- 0-based index within the day
            state_id TEXT,
            npc TEXT NOT NULL,               -- speaker name as shown
            mbti TEXT,
            message TEXT NOT NULL,
            response TEXT NOT NULL,
            verdict TEXT,                    -- advance | follow_up | forced | imported
            is_followup BOOLEAN NOT NULL DEFAULT FALSE,
            model TEXT,
            npc_latency_s DOUBLE,
            user_latency_s DOUBLE,
            check_latency_s DOUBLE,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            PRIMARY KEY (session_id, day, idx)
        )
        """,
        """
        CREATE TABLE llm_calls (
            session_id TEXT,
            day INTEGER,
            purpose TEXT NOT NULL,           -- npc | user | check | method:<name> | ...
            model TEXT,
            prompt_tokens INTEGER,
            evaluated_prompt_tokens INTEGER,
            completion_tokens INTEGER,
            latency_s DOUBLE,
            attempts INTEGER,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        )
        """,
        "CREATE INDEX sessions_run ON sessions(run_id)",
        "CREATE INDEX sessions_user ON sessions(user_id)",
    ),
)

EMBEDDING_CACHE = Migration(
    2,
    "embedding_cache",
    (
        """
        CREATE TABLE embeddings (
            model TEXT NOT NULL,             -- encoder name, e.g. all-mpnet-base-v2
            text_sha256 TEXT NOT NULL,       -- sha256 of the UTF-8 text, hex
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,            -- float32 little-endian, dim values
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            PRIMARY KEY (model, text_sha256)
        )
        """,
    ),
)

EVALUATION = Migration(
    3,
    "evaluation",
    (
        """
        CREATE TABLE eval_predictions (
            eval_run TEXT NOT NULL,          -- runs.id of the evaluation
            method TEXT NOT NULL,
            model TEXT NOT NULL,             -- model spec as given (local:small, openai/gpt-4o-mini, ...)
            user_id TEXT NOT NULL,
            language TEXT NOT NULL,
            session_id TEXT NOT NULL,
            day INTEGER NOT NULL,
            idx INTEGER NOT NULL,
            npc TEXT,
            message TEXT NOT NULL,
            reference TEXT NOT NULL,         -- the user's real reply
            prediction TEXT NOT NULL,        -- cleaned text that is scored
            raw TEXT NOT NULL,               -- what the model returned
            flags VARCHAR[] NOT NULL,        -- leaked_reasoning | refusal | empty | wrong_language | ...
            prompt_sha256 TEXT,
            params JSON,
            latency_s DOUBLE,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            llm_calls INTEGER,
            cached_calls INTEGER,
            cost_usd DOUBLE,                 -- NULL when unknown (local models, unpriced APIs)
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            PRIMARY KEY (eval_run, method, model, session_id, day, idx)
        )
        """,
        """
        CREATE TABLE eval_scores (
            eval_run TEXT NOT NULL,
            method TEXT NOT NULL,
            model TEXT NOT NULL,
            session_id TEXT NOT NULL,
            day INTEGER NOT NULL,
            idx INTEGER NOT NULL,
            m1 DOUBLE, m2 DOUBLE, m3 DOUBLE, m4 DOUBLE, m5 DOUBLE, m6 DOUBLE,
            judge_content INTEGER,
            judge_style INTEGER,
            m1_vectors TEXT,
            m2_encoder TEXT,
            m4_unit TEXT,
            m6_encoder TEXT,
            scored_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            PRIMARY KEY (eval_run, method, model, session_id, day, idx)
        )
        """,
        """
        CREATE TABLE eval_users (
            eval_run TEXT NOT NULL,
            method TEXT NOT NULL,
            model TEXT NOT NULL,
            session_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            language TEXT NOT NULL,
            status TEXT NOT NULL,            -- ok | failed
            error TEXT,                      -- the first error of a failed user
            fit_info JSON,                   -- what fit produced (profile, inferred labels, ...)
            fit_latency_s DOUBLE,
            fit_prompt_tokens INTEGER,
            fit_completion_tokens INTEGER,
            fit_cost_usd DOUBLE,
            updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            PRIMARY KEY (eval_run, method, model, session_id)
        )
        """,
        """
        CREATE TABLE llm_cache (
            key TEXT PRIMARY KEY,            -- sha256 of model spec + messages + generation params
            model TEXT NOT NULL,
            text TEXT NOT NULL,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            latency_s DOUBLE,
            cost_usd DOUBLE,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        )
        """,
    ),
)

TURN_DIAGNOSTICS = Migration(
    4,
    "turn_diagnostics",
    (
        # how the reply check reached its verdict: rule | llm | fallback (judge unavailable)
        "ALTER TABLE turns ADD COLUMN check_by TEXT",
        "ALTER TABLE turns ADD COLUMN check_reason TEXT",
        # the scenario's written line was shown because the model's line was unusable
        "ALTER TABLE turns ADD COLUMN npc_fallback BOOLEAN",
        # the simulated user's canned reply was used because the model's replies were unusable
        "ALTER TABLE turns ADD COLUMN reply_fallback BOOLEAN",
        # what is known about the pending NPC line, so a resumed turn keeps its model and usage
        "ALTER TABLE sessions ADD COLUMN pending_model TEXT",
        "ALTER TABLE sessions ADD COLUMN pending_prompt_tokens INTEGER",
        "ALTER TABLE sessions ADD COLUMN pending_completion_tokens INTEGER",
        "ALTER TABLE sessions ADD COLUMN pending_latency_s DOUBLE",
        "ALTER TABLE sessions ADD COLUMN pending_fallback BOOLEAN",
    ),
)

# Several seeds per evaluation run: the seed joins the keys of predictions, scores and user status
# (DuckDB cannot change a primary key in place, so each table is rebuilt; existing rows take the
# seed their run recorded, or 0). Scores also record which judge model rated them, so that a run
# scored again with other metric options is rescored rather than keeping the old numbers.
_RUN_SEED = "TRY_CAST(json_extract_string(r.config, '$.seed') AS INTEGER)"
EVAL_SEEDS = Migration(
    5,
    "eval_seeds",
    (
        """
        CREATE TABLE eval_predictions_seeded (
            eval_run TEXT NOT NULL,
            method TEXT NOT NULL,
            model TEXT NOT NULL,
            seed INTEGER NOT NULL DEFAULT 0,  -- sampling seed of this prediction
            user_id TEXT NOT NULL,
            language TEXT NOT NULL,
            session_id TEXT NOT NULL,
            day INTEGER NOT NULL,
            idx INTEGER NOT NULL,
            npc TEXT,
            message TEXT NOT NULL,
            reference TEXT NOT NULL,
            prediction TEXT NOT NULL,
            raw TEXT NOT NULL,
            flags VARCHAR[] NOT NULL,
            prompt_sha256 TEXT,
            params JSON,
            latency_s DOUBLE,
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            llm_calls INTEGER,
            cached_calls INTEGER,
            cost_usd DOUBLE,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            PRIMARY KEY (eval_run, method, model, seed, session_id, day, idx)
        )
        """,
        f"""
        INSERT INTO eval_predictions_seeded
        SELECT p.eval_run, p.method, p.model,
               coalesce(TRY_CAST(json_extract_string(p.params, '$.seed') AS INTEGER), {_RUN_SEED}, 0),
               p.user_id, p.language, p.session_id, p.day, p.idx, p.npc, p.message, p.reference,
               p.prediction, p.raw, p.flags, p.prompt_sha256, p.params, p.latency_s, p.prompt_tokens,
               p.completion_tokens, p.llm_calls, p.cached_calls, p.cost_usd, p.created_at
        FROM eval_predictions p LEFT JOIN runs r ON r.id = p.eval_run
        """,
        "DROP TABLE eval_predictions",
        "ALTER TABLE eval_predictions_seeded RENAME TO eval_predictions",
        """
        CREATE TABLE eval_scores_seeded (
            eval_run TEXT NOT NULL,
            method TEXT NOT NULL,
            model TEXT NOT NULL,
            seed INTEGER NOT NULL DEFAULT 0,
            session_id TEXT NOT NULL,
            day INTEGER NOT NULL,
            idx INTEGER NOT NULL,
            m1 DOUBLE, m2 DOUBLE, m3 DOUBLE, m4 DOUBLE, m5 DOUBLE, m6 DOUBLE,
            judge_content INTEGER,
            judge_style INTEGER,
            judge_model TEXT,                -- the chat model that gave judge_*, NULL when not judged
            m1_vectors TEXT,
            m2_encoder TEXT,
            m4_unit TEXT,
            m6_encoder TEXT,
            scored_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            PRIMARY KEY (eval_run, method, model, seed, session_id, day, idx)
        )
        """,
        f"""
        INSERT INTO eval_scores_seeded
        SELECT s.eval_run, s.method, s.model, coalesce({_RUN_SEED}, 0), s.session_id, s.day, s.idx,
               s.m1, s.m2, s.m3, s.m4, s.m5, s.m6, s.judge_content, s.judge_style,
               CASE WHEN s.judge_content IS NULL AND s.judge_style IS NULL THEN NULL ELSE 'unknown' END,
               s.m1_vectors, s.m2_encoder, s.m4_unit, s.m6_encoder, s.scored_at
        FROM eval_scores s LEFT JOIN runs r ON r.id = s.eval_run
        """,
        "DROP TABLE eval_scores",
        "ALTER TABLE eval_scores_seeded RENAME TO eval_scores",
        """
        CREATE TABLE eval_users_seeded (
            eval_run TEXT NOT NULL,
            method TEXT NOT NULL,
            model TEXT NOT NULL,
            seed INTEGER NOT NULL DEFAULT 0,
            session_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            language TEXT NOT NULL,
            status TEXT NOT NULL,
            error TEXT,
            fit_info JSON,
            fit_latency_s DOUBLE,
            fit_prompt_tokens INTEGER,
            fit_completion_tokens INTEGER,
            fit_cost_usd DOUBLE,
            updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            PRIMARY KEY (eval_run, method, model, seed, session_id)
        )
        """,
        f"""
        INSERT INTO eval_users_seeded
        SELECT u.eval_run, u.method, u.model, coalesce({_RUN_SEED}, 0), u.session_id, u.user_id,
               u.language, u.status, u.error, u.fit_info, u.fit_latency_s, u.fit_prompt_tokens,
               u.fit_completion_tokens, u.fit_cost_usd, u.updated_at
        FROM eval_users u LEFT JOIN runs r ON r.id = u.eval_run
        """,
        "DROP TABLE eval_users",
        "ALTER TABLE eval_users_seeded RENAME TO eval_users",
    ),
)

# What the dialogue-quality guards did on each turn, and the simulated user's stance (what the
# persona thinks on the probed dimension, fixed before the reply is worded: ground truth for
# trait recovery). NULL on turns not played by the engine or played before this migration.
TURN_QUALITY = Migration(
    6,
    "turn_quality",
    (
        # JSON: {"dimension": "E/I", "letter": "I", "strength": 0.8, "position": "..."}
        "ALTER TABLE turns ADD COLUMN stance TEXT",
        # generated housemate lines rejected before the shown one (leak, echo, repeat, markup, ...)
        "ALTER TABLE turns ADD COLUMN npc_rejected INTEGER",
        # JSON list of the reasons, one per rejected line
        "ALTER TABLE turns ADD COLUMN npc_reject_reasons TEXT",
        # simulated-user replies rejected (copies of a sample or an earlier reply) before the stored one
        "ALTER TABLE turns ADD COLUMN reply_resampled INTEGER",
        # the same for the pending line, so a resumed turn keeps what its guards did
        "ALTER TABLE sessions ADD COLUMN pending_npc_rejected INTEGER",
        "ALTER TABLE sessions ADD COLUMN pending_npc_reject_reasons TEXT",
    ),
)

# Study participants (sharehouse.study): one row per person who agreed to a study's consent text.
# The session's user_id is the participant id; the nickname is for display only, never a key.
# The resume code is kept only as its sha256. A withdrawn participant's sessions and everything
# derived from them are deleted; the row stays as a tombstone with its id, study, consent record,
# the id of the deleted game and the withdrawal time, and every other field cleared.
STUDY_PARTICIPANTS = Migration(
    7,
    "study_participants",
    (
        """
        CREATE TABLE participants (
            id TEXT PRIMARY KEY,             -- p-<12 hex>, also sessions.user_id
            code_sha256 TEXT UNIQUE,         -- sha256 of the canonical resume code; NULL once withdrawn
            session_id TEXT,                 -- the study game (kept, deleted, once withdrawn)
            study TEXT NOT NULL,             -- the study's name (StudyConfig.name)
            language TEXT,                   -- en | ja | zh; NULL once withdrawn
            nickname TEXT,                   -- shown in the game only; NULL once withdrawn
            consent_version TEXT NOT NULL,   -- the version of the consent text agreed to
            consented_at TIMESTAMP NOT NULL,
            self_mbti TEXT,                  -- pre-game self-report: one of the 16 types or 'unknown'
            age_band TEXT,                   -- post-game questionnaire
            naturalness INTEGER,             -- 1..5
            comment TEXT,
            answered_at TIMESTAMP,           -- when the questionnaire was answered
            status TEXT NOT NULL DEFAULT 'active',   -- active | withdrawn
            withdrawn_at TIMESTAMP,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        )
        """,
    ),
)

MIGRATIONS: list[Migration] = [
    CORE, EMBEDDING_CACHE, EVALUATION, TURN_DIAGNOSTICS, EVAL_SEEDS, TURN_QUALITY, STUDY_PARTICIPANTS,
]  # fmt: skip
