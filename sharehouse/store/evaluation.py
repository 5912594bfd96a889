"""Evaluation tables: predictions, their per-turn scores, per-user status, and the LLM call cache.

Functions take a :class:`Store`. A prediction is keyed by (eval run, method, model, seed, session,
day, idx) and written once, as soon as it is produced; scores and user status are replaced when
they are computed again. A score row records the metric variants (and judge model) that produced
it, so that :func:`load_predictions` can pick out the predictions whose scores are missing *or*
were computed with other options.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sharehouse.store.db import Store

PredictionKey = tuple[str, str, int, str, int, int]  # method, model, seed, session_id, day, idx


class PredictionRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    eval_run: str
    method: str
    model: str
    seed: int = 0
    user_id: str
    language: str
    session_id: str
    day: int
    idx: int
    npc: str | None = None
    message: str
    reference: str
    prediction: str
    raw: str
    flags: list[str] = Field(default_factory=list)
    prompt_sha256: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    latency_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    llm_calls: int | None = None
    cached_calls: int | None = None
    cost_usd: float | None = None
    created_at: datetime | None = None

    @property
    def key(self) -> PredictionKey:
        return (self.method, self.model, self.seed, self.session_id, self.day, self.idx)


class ScoreRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    eval_run: str
    method: str
    model: str
    seed: int = 0
    session_id: str
    day: int
    idx: int
    m1: float | None = None
    m2: float | None = None
    m3: float | None = None
    m4: float | None = None
    m5: float | None = None
    m6: float | None = None
    judge_content: int | None = None
    judge_style: int | None = None
    judge_model: str | None = None  # the model spec that judged; None when not judged
    m1_vectors: str | None = None
    m2_encoder: str | None = None
    m4_unit: str | None = None
    m6_encoder: str | None = None


class UserStatusRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    eval_run: str
    method: str
    model: str
    seed: int = 0
    session_id: str
    user_id: str
    language: str
    status: str  # ok | failed
    error: str | None = None
    fit_info: dict[str, Any] | None = None
    fit_latency_s: float | None = None
    fit_prompt_tokens: int | None = None
    fit_completion_tokens: int | None = None
    fit_cost_usd: float | None = None


class CachedCompletion(BaseModel):
    key: str
    model: str
    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None
    cost_usd: float | None = None


_PRED_COLS = [c for c in PredictionRecord.model_fields if c != "created_at"]
_SCORE_COLS = list(ScoreRecord.model_fields)
_USER_COLS = list(UserStatusRecord.model_fields)
_CACHE_COLS = list(CachedCompletion.model_fields)
_JSON_COLS = {"params", "fit_info"}
_KEY_WHERE = (
    "eval_run = ? AND method = ? AND model = ? AND seed = ? AND session_id = ? AND day = ? AND idx = ?"
)
_JOIN_SCORES = (
    "s.eval_run = p.eval_run AND s.method = p.method AND s.model = p.model AND s.seed = p.seed"
    " AND s.session_id = p.session_id AND s.day = p.day AND s.idx = p.idx"
)
# the score columns that say which metric variants produced a score
VARIANT_COLS = ("m1_vectors", "m2_encoder", "m4_unit", "m6_encoder", "judge_model")


def _values(rec: BaseModel, cols: Sequence[str]) -> list[Any]:
    data = rec.model_dump()
    out = []
    for c in cols:
        v = data[c]
        out.append(
            json.dumps(v, ensure_ascii=False, sort_keys=True) if c in _JSON_COLS and v is not None else v
        )
    return out


def _insert_sql(table: str, cols: Sequence[str], *, replace: bool = False) -> str:
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    return f"{verb} INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"


# -- predictions ----------------------------------------------------------------------------


def insert_prediction(store: Store, rec: PredictionRecord) -> bool:
    """Store one prediction; returns False (and writes nothing) when its key is already stored."""
    with store.transaction() as conn:
        row = conn.execute(
            f"SELECT 1 FROM eval_predictions WHERE {_KEY_WHERE}", [rec.eval_run, *rec.key]
        ).fetchone()
        if row:
            return False
        conn.execute(_insert_sql("eval_predictions", _PRED_COLS), _values(rec, _PRED_COLS))
    return True


def prediction_keys(store: Store, eval_run: str) -> set[PredictionKey]:
    """The keys of every prediction stored for a run."""
    rows = store.fetchall(
        "SELECT method, model, seed, session_id, day, idx FROM eval_predictions WHERE eval_run = ?",
        [eval_run],
    )
    return {(r[0], r[1], int(r[2]), r[3], int(r[4]), int(r[5])) for r in rows}


def _row_to_prediction(row: Sequence[Any]) -> PredictionRecord:
    data = dict(zip([*_PRED_COLS, "created_at"], row, strict=True))
    data["params"] = json.loads(data["params"]) if data["params"] else {}
    data["flags"] = list(data["flags"] or [])
    return PredictionRecord(**data)


def load_predictions(
    store: Store,
    eval_run: str,
    *,
    method: str | None = None,
    model: str | None = None,
    seed: int | None = None,
    unscored_only: bool = False,
    stale_for: Mapping[str, str | None] | None = None,
) -> list[PredictionRecord]:
    """A run's predictions, optionally of one method/model/seed.

    ``unscored_only``: only those without a score. ``stale_for`` (score variant column → value,
    from :data:`VARIANT_COLS`): only those without a score or whose score was computed with another
    value in any of those columns, i.e. everything that must be scored (again) under these options.
    """
    cols = ", ".join(f"p.{c}" for c in [*_PRED_COLS, "created_at"])
    sql = f"SELECT {cols} FROM eval_predictions p"
    if unscored_only or stale_for is not None:
        sql += f" LEFT JOIN eval_scores s ON {_JOIN_SCORES}"
    where: list[str] = ["p.eval_run = ?"]
    params: list[Any] = [eval_run]
    for col, value in (("method", method), ("model", model), ("seed", seed)):
        if value is not None:
            where.append(f"p.{col} = ?")
            params.append(value)
    if stale_for is not None:
        unknown = set(stale_for) - set(VARIANT_COLS)
        if unknown:
            raise ValueError(f"not a score variant column: {', '.join(sorted(unknown))}")
        differs = [f"s.{c} IS DISTINCT FROM ?" for c in stale_for]
        where.append("(" + " OR ".join(["s.eval_run IS NULL", *differs]) + ")")
        params.extend(stale_for.values())
    elif unscored_only:
        where.append("s.eval_run IS NULL")
    sql += (
        " WHERE "
        + " AND ".join(where)
        + " ORDER BY p.method, p.model, p.seed, p.language, p.user_id, p.day, p.idx"
    )
    return [_row_to_prediction(r) for r in store.fetchall(sql, params)]


# -- scores ---------------------------------------------------------------------------------


def put_scores(store: Store, scores: Sequence[ScoreRecord]) -> int:
    """Store per-turn scores, replacing earlier scores of the same predictions."""
    if not scores:
        return 0
    with store.transaction() as conn:
        for rec in scores:
            conn.execute(
                f"DELETE FROM eval_scores WHERE {_KEY_WHERE}",
                [rec.eval_run, rec.method, rec.model, rec.seed, rec.session_id, rec.day, rec.idx],
            )
            conn.execute(_insert_sql("eval_scores", _SCORE_COLS), _values(rec, _SCORE_COLS))
    return len(scores)


_SCORED_COLS = (
    "p.method", "p.model", "p.language", "p.user_id", "p.session_id", "p.day", "p.idx", "p.flags",
    "s.m1", "s.m2", "s.m3", "s.m4", "s.m5", "s.m6", "s.judge_content", "s.judge_style",
    "s.m2_encoder", "s.m4_unit", "s.m6_encoder", "p.seed", "s.judge_model",
)  # fmt: skip


def load_scored_turns(store: Store, eval_run: str) -> list[dict[str, Any]]:
    """Every scored prediction of a run as a plain row: keys (with ``seed``), flags, m1…m6 and the
    judge's ratings. With several seeds a user has one row per seed and turn."""
    names = [c.split(".", 1)[1] for c in _SCORED_COLS]
    names[names.index("user_id")] = "user"
    rows = store.fetchall(
        f"SELECT {', '.join(_SCORED_COLS)} FROM eval_predictions p JOIN eval_scores s ON {_JOIN_SCORES} "
        "WHERE p.eval_run = ? ORDER BY p.method, p.model, p.seed, p.language, p.user_id, p.day, p.idx",
        [eval_run],
    )
    out = []
    for r in rows:
        rec = dict(zip(names, r, strict=True))
        rec["flags"] = list(rec["flags"] or [])
        out.append(rec)
    return out


def flag_counts(store: Store, eval_run: str) -> dict[tuple[str, str, str], dict[str, int]]:
    """Per (method, model, language): how many predictions carry each flag, and the total."""
    rows = store.fetchall(
        "SELECT method, model, language, flag, count(*) FROM ("
        "  SELECT method, model, language, unnest(CASE WHEN len(flags) = 0 THEN ['_none'] ELSE flags END) AS flag"
        "  FROM eval_predictions WHERE eval_run = ?"
        ") GROUP BY ALL",
        [eval_run],
    )
    totals = store.fetchall(
        "SELECT method, model, language, count(*) FROM eval_predictions WHERE eval_run = ? GROUP BY ALL",
        [eval_run],
    )
    out: dict[tuple[str, str, str], dict[str, int]] = {}
    for method, model, language, n in totals:
        out[(method, model, language)] = {"predictions": int(n)}
    for method, model, language, flag, n in rows:
        if flag != "_none":
            out.setdefault((method, model, language), {})[flag] = int(n)
    return out


# -- per-user status ------------------------------------------------------------------------


def put_user_status(store: Store, rec: UserStatusRecord) -> None:
    """Record how one user went for a method/model (replaces the previous record)."""
    with store.transaction() as conn:
        conn.execute(
            "DELETE FROM eval_users WHERE eval_run = ? AND method = ? AND model = ? AND seed = ? "
            "AND session_id = ?",
            [rec.eval_run, rec.method, rec.model, rec.seed, rec.session_id],
        )
        conn.execute(_insert_sql("eval_users", _USER_COLS), _values(rec, _USER_COLS))


def has_user_status(store: Store, eval_run: str, method: str, model: str, seed: int, session_id: str) -> bool:
    row = store.fetchone(
        "SELECT count(*) FROM eval_users WHERE eval_run = ? AND method = ? AND model = ? AND seed = ? "
        "AND session_id = ?",
        [eval_run, method, model, seed, session_id],
    )
    return bool(row and row[0])


def load_user_status(store: Store, eval_run: str) -> list[UserStatusRecord]:
    rows = store.fetchall(
        f"SELECT {', '.join(_USER_COLS)} FROM eval_users WHERE eval_run = ? "
        "ORDER BY method, model, seed, language, user_id",
        [eval_run],
    )
    out = []
    for r in rows:
        data = dict(zip(_USER_COLS, r, strict=True))
        data["fit_info"] = json.loads(data["fit_info"]) if data["fit_info"] else None
        out.append(UserStatusRecord(**data))
    return out


def set_run_config(store: Store, run_id: str, config: Mapping[str, Any]) -> None:
    """Replace the stored config of a run (e.g. when a resumed evaluation adds seeds or rescores)."""
    with store.transaction() as conn:
        conn.execute(
            "UPDATE runs SET config = ?, updated_at = current_timestamp WHERE id = ?",
            [json.dumps(dict(config), ensure_ascii=False), run_id],
        )


def list_eval_runs(store: Store) -> list[dict[str, Any]]:
    """Evaluation runs with their prediction counts, newest first."""
    rows = store.fetchall(
        "SELECT r.id, r.status, r.created_at, r.updated_at, count(p.eval_run) "
        "FROM runs r LEFT JOIN eval_predictions p ON p.eval_run = r.id WHERE r.kind = 'evaluate' "
        "GROUP BY ALL ORDER BY r.created_at DESC",
    )
    return [
        {"id": r[0], "status": r[1], "created_at": r[2], "updated_at": r[3], "predictions": int(r[4])}
        for r in rows
    ]


# -- LLM call cache -------------------------------------------------------------------------


def cache_get(store: Store, key: str) -> CachedCompletion | None:
    row = store.fetchone(f"SELECT {', '.join(_CACHE_COLS)} FROM llm_cache WHERE key = ?", [key])
    return CachedCompletion(**dict(zip(_CACHE_COLS, row, strict=True))) if row else None


def cache_put(store: Store, rec: CachedCompletion) -> None:
    with store.transaction() as conn:
        conn.execute(
            f"INSERT OR IGNORE INTO llm_cache ({', '.join(_CACHE_COLS)}) "
            f"VALUES ({', '.join('?' for _ in _CACHE_COLS)})",
            _values(rec, _CACHE_COLS),
        )


def cache_size(store: Store) -> int:
    row = store.fetchone("SELECT count(*) FROM llm_cache")
    return int(row[0]) if row else 0
