"""Score a batch of (reference, prediction) pairs with M1–M6 (and optionally the LLM judge).

The batch is scored in passes rather than pair by pair: every distinct text is tokenized once,
every sentence is embedded in one batched call per encoder (through the memory/store cache), the
history centroid of each distinct history is computed once, and the word vectors of all WMD
words are fetched in one call. Only the small per-pair arithmetic (an n×m cost matrix and one
``ot.emd2``) runs per pair.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from evaluator.metrics.encoders import MINILM, MPNET, USEM3, EncoderName, embed
from evaluator.metrics.m1_wmd import wmd, wmd_words
from evaluator.metrics.m2_sentence import sentence_similarity
from evaluator.metrics.m3_bleu import bleu
from evaluator.metrics.m4_length import LengthUnit, length_ratio
from evaluator.metrics.m5_ttr import type_token_ratio
from evaluator.metrics.m6_history import history_centroid, history_similarity
from evaluator.metrics.tokenize import (
    DEFAULT_TOKENS,
    Language,
    TokenMode,
    metric_tokens,
    normalize_language,
    tokenize,
)
from evaluator.metrics.wordvectors import WORD_VECTORS, word_vectors

if TYPE_CHECKING:
    from sharehouse.llm.base import ChatModel
    from sharehouse.store import Store

__all__ = ["MINILM", "MPNET", "USEM3", "MetricOptions", "ScorePair", "TurnScores", "score_pairs"]


class ScorePair(BaseModel):
    """One turn to score: the user's real reply and a predicted one."""

    user: str
    language: Language
    message: str = ""
    reference: str
    prediction: str
    history: list[str] | None = None
    source: str | None = None  # the store's source of the user (user ids are unique per source)
    method: str | None = None
    model: str | None = None

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, value: Any) -> str:
        return normalize_language(str(value))


class MetricOptions(BaseModel):
    """Which variant of each metric to compute. The defaults reproduce the published reference."""

    model_config = ConfigDict(frozen=True)

    sentence_encoder: EncoderName = MINILM  # M2; "usem3" for a multilingual encoder
    history_encoder: EncoderName = MPNET  # M6; "usem3" for a multilingual encoder
    length_unit: LengthUnit = "chars"  # M4; "tokens" as the paper's prose says
    tokens: TokenMode = DEFAULT_TOKENS  # M3/M5; "no-whitespace" drops jieba/Sudachi whitespace tokens
    judge_concurrency: int = Field(default=1, ge=1)


class TurnScores(BaseModel):
    """M1–M6 of one turn, plus which variants produced them."""

    user: str
    language: Language
    message: str = ""
    method: str | None = None
    model: str | None = None
    m1: float
    m2: float
    m3: float
    m4: float
    m5: float
    m6: float | None  # None when the user has no day 1–4 history
    judge_content: int | None = None
    judge_style: int | None = None
    m1_vectors: str = WORD_VECTORS
    m2_encoder: str = MINILM
    m4_unit: LengthUnit = "chars"
    m6_encoder: str = MPNET
    tokens: TokenMode = DEFAULT_TOKENS  # the M3/M5 tokens


def _histories(pairs: Sequence[ScorePair], store: Store | None) -> list[list[str]]:
    from_store: dict[tuple[str, str | None], list[str]] = {}
    out: list[list[str]] = []
    for pair in pairs:
        if pair.history is not None:
            out.append([h for h in pair.history if h.strip()])
            continue
        if store is not None:
            key = (pair.user, pair.source)
            if key not in from_store:
                replies = store.history_replies(pair.user, source=pair.source) or []
                from_store[key] = [h for h in replies if h.strip()]
            out.append(from_store[key])
        else:
            out.append([])
    return out


def _run_judge(
    model: ChatModel, pairs: Sequence[ScorePair], histories: list[list[str]], concurrency: int
) -> list:
    from evaluator.metrics.judge import judge_pairs

    items = [(p.message, p.reference, p.prediction, h or None) for p, h in zip(pairs, histories, strict=True)]
    coro = judge_pairs(model, items, concurrency=concurrency)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def worker() -> None:  # called from inside an event loop: run ours on another thread
        try:
            box["out"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised below in the caller's thread
            box["err"] = exc

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    thread.join()
    if "err" in box:
        raise box["err"]
    return box["out"]


def score_pairs(
    pairs: Sequence[ScorePair],
    *,
    store: Store | None = None,
    options: MetricOptions = MetricOptions(),  # noqa: B008 - immutable (frozen) default
    judge: ChatModel | None = None,
) -> list[TurnScores]:
    """M1–M6 of every pair, in input order.

    History: a pair's own ``history`` when given, else (with a store) the user's day 1–4 replies
    from the store (of the pair's ``source`` when given; a user id under several sources is
    ambiguous without it), else none (M6 is then ``None``). Embeddings are cached in ``store`` when given.
    With ``judge``, each pair is also rated 1–5 for content and style by that chat model.
    """
    if not pairs:
        return []
    histories = _histories(pairs, store)

    # 1. tokens, once per distinct (text, language): M3/M5 tokens, M4 token lengths, M1 words
    tokens: dict[tuple[str, str], list[str]] = {}
    lengths: dict[tuple[str, str], int] = {}
    words: dict[tuple[str, str], list[str]] = {}
    for p in pairs:
        for text in (p.reference, p.prediction):
            key = (text, p.language)
            if key not in tokens:
                tokens[key] = metric_tokens(text, p.language, options.tokens)
                if options.length_unit == "tokens":
                    lengths[key] = len(tokenize(text, p.language))
                words[key] = wmd_words(text, p.language)

    # 2. sentence embeddings, one batched call per encoder
    sent_texts = [t for p in pairs for t in (p.reference, p.prediction)]
    sent_vecs = embed(sent_texts, options.sentence_encoder, store=store)
    hist_texts = [p.prediction for p in pairs] + [h for hist in histories for h in hist]
    hist_vecs = embed(hist_texts, options.history_encoder, store=store)
    pred_hist_vecs = hist_vecs[: len(pairs)]
    centroids: dict[tuple[str, ...], np.ndarray | None] = {}
    offset = len(pairs)
    centroid_of: list[np.ndarray | None] = []
    for hist in histories:
        key = tuple(hist)
        if key not in centroids:
            centroids[key] = history_centroid(hist_vecs[offset : offset + len(hist)])
        offset += len(hist)
        centroid_of.append(centroids[key])

    # 3. word vectors for every WMD word, one call
    vectors = word_vectors([w for ws in words.values() for w in ws], store=store)

    judged = _run_judge(judge, pairs, histories, options.judge_concurrency) if judge is not None else None

    out: list[TurnScores] = []
    for i, p in enumerate(pairs):
        ref_key, pred_key = (p.reference, p.language), (p.prediction, p.language)
        ref_tok, pred_tok = tokens[ref_key], tokens[pred_key]
        if options.length_unit == "tokens":
            m4 = length_ratio(lengths[ref_key], lengths[pred_key])
        else:
            m4 = length_ratio(len(p.reference.strip()), len(p.prediction.strip()))
        verdict = judged[i] if judged is not None else None
        out.append(
            TurnScores(
                user=p.user,
                language=p.language,
                message=p.message,
                method=p.method,
                model=p.model,
                m1=wmd(words[ref_key], words[pred_key], vectors),
                m2=sentence_similarity(sent_vecs[2 * i], sent_vecs[2 * i + 1]),
                m3=bleu(ref_tok, pred_tok),
                m4=m4,
                # a prediction of whitespace only is empty (as for M4): no type-token ratio
                m5=type_token_ratio(pred_tok) if p.prediction.strip() else 0.0,
                m6=history_similarity(pred_hist_vecs[i], centroid_of[i]),
                judge_content=verdict.content if verdict is not None else None,
                judge_style=verdict.style if verdict is not None else None,
                m2_encoder=options.sentence_encoder,
                m4_unit=options.length_unit,
                m6_encoder=options.history_encoder,
                tokens=options.tokens,
            )
        )
    return out
