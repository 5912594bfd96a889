"""The optional LLM judge: prompt, reply parsing and the batch path through score_pairs.

The chat model here is a scripted implementation of the ChatModel protocol (the local GGUF
backend is tested with the LLM layer); it checks what the judge sends and how it reads replies.
"""

from __future__ import annotations

import json

from evaluator.metrics.encoders import USEM3
from evaluator.metrics.judge import JUDGE_SCHEMA, judge_messages, judge_pairs, parse_judgement
from evaluator.scoring import MetricOptions, ScorePair, score_pairs
from sharehouse.llm.base import Completion, GenParams, LLMError, Message


class ScriptedModel:
    name = "scripted"

    def __init__(self, replies: list[str | Exception]) -> None:
        self.replies = list(replies)
        self.seen: list[tuple[list[Message], GenParams]] = []

    async def complete(self, messages: list[Message], params: GenParams) -> Completion:
        self.seen.append((messages, params))
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return Completion(text=reply, model=self.name)

    def close(self) -> None:
        pass


def test_parse_judgement() -> None:
    assert parse_judgement('{"content": 4, "style": 2}').model_dump() == {"content": 4, "style": 2}
    assert parse_judgement('Sure: {"content": 5, "style": 5} done').content == 5
    assert parse_judgement('{"content": 9, "style": 2}') is None
    assert parse_judgement("four and two") is None
    assert parse_judgement('{"content": 3}') is None


def test_messages_hold_both_replies_and_clipped_history() -> None:
    msgs = judge_messages("What's for dinner?", "Pasta!", "Maybe noodles.", [f"h{i}" for i in range(10)])
    assert msgs[0]["role"] == "system" and "1 to 5" in msgs[0]["content"]
    body = msgs[1]["content"]
    assert "REAL:\nPasta!" in body and "GUESS:\nMaybe noodles." in body
    assert "- h9" in body and "- h3" not in body  # only the last six earlier replies


async def test_judge_pairs_keeps_order_and_survives_errors() -> None:
    model = ScriptedModel(['{"content": 5, "style": 4}', LLMError("down"), "garbage"])
    items = [("m", "r", "p", None)] * 3
    got = await judge_pairs(model, items)
    assert got[0] is not None and (got[0].content, got[0].style) == (5, 4)
    assert got[1] is None and got[2] is None
    params = model.seen[0][1]
    assert params.json_schema == JUDGE_SCHEMA and params.temperature == 0.0


def test_score_pairs_with_judge() -> None:
    model = ScriptedModel([json.dumps({"content": 3, "style": 5})])
    pair = ScorePair(
        user="u", language="en", message="Hi?", reference="Hello there.", prediction="Hi!", history=["Hey"]
    )
    opts = MetricOptions(sentence_encoder=USEM3, history_encoder=USEM3)
    (s,) = score_pairs([pair], options=opts, judge=model)
    assert (s.judge_content, s.judge_style) == (3, 5)
    assert "EARLIER REPLIES" in model.seen[0][0][1]["content"]


async def test_score_pairs_with_judge_from_inside_an_event_loop() -> None:
    model = ScriptedModel([json.dumps({"content": 2, "style": 1})])
    pair = ScorePair(user="u", language="zh", message="?", reference="好的", prediction="不行")
    opts = MetricOptions(sentence_encoder=USEM3, history_encoder=USEM3)
    (s,) = score_pairs([pair], options=opts, judge=model)
    assert (s.judge_content, s.judge_style) == (2, 1)
