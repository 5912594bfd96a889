"""Pydantic records: what goes in and out of the store."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

SessionKind = Literal["human", "simulated"]
SessionStatus = Literal["active", "complete", "failed"]
Verdict = Literal["advance", "follow_up", "forced", "imported"]
CheckBy = Literal["rule", "llm", "fallback"]


class SessionRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    kind: SessionKind
    source: str
    user_id: str
    language: str
    run_id: str | None = None
    persona_id: str | None = None
    scenario_id: str | None = None
    scenario_hash: str | None = None
    llm_config: dict[str, Any] | None = None
    status: SessionStatus = "active"
    failure_reason: str | None = None
    position_day: int | None = None
    position_state: str | None = None
    followups_used: int = 0
    pending_message: str | None = None
    pending_npc: str | None = None
    pending_model: str | None = None  # model that generated the pending line (None: not recorded)
    pending_prompt_tokens: int | None = None
    pending_completion_tokens: int | None = None
    pending_latency_s: float | None = None
    pending_fallback: bool | None = None
    pending_npc_rejected: int | None = None
    pending_npc_reject_reasons: str | None = None  # JSON list
    origin: str | None = None
    attempts: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None


class TurnRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_id: str
    day: int
    idx: int
    npc: str
    message: str
    response: str
    state_id: str | None = None
    mbti: str | None = None
    verdict: Verdict | None = None
    is_followup: bool = False
    model: str | None = None
    npc_latency_s: float | None = None
    user_latency_s: float | None = None
    check_latency_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    check_by: CheckBy | None = None  # None for turns not played by the engine (imports, old rows)
    check_reason: str | None = None
    npc_fallback: bool | None = None  # True: the scenario's written line was shown
    reply_fallback: bool | None = None  # True: a simulated user's canned reply was used
    stance: str | None = None  # JSON: the simulated user's stance on the probed dimension
    npc_rejected: int | None = None  # generated housemate lines rejected before the shown one
    npc_reject_reasons: str | None = None  # JSON list: why each was rejected
    reply_resampled: int | None = None  # simulated replies rejected as copies before the stored one
    created_at: datetime | None = None


class Position(BaseModel):
    """Where a session stands: the state to play next and follow-ups already used there."""

    day: int | None  # None when the session is over
    state: str | None
    followups_used: int = 0


class LLMCallRecord(BaseModel):
    session_id: str | None = None
    day: int | None = None
    purpose: str
    model: str | None = None
    prompt_tokens: int | None = None
    evaluated_prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None
    attempts: int | None = None
