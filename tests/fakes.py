"""Small stand-in models for faults a real model cannot produce on demand, shared by several tests."""

from __future__ import annotations

from sharehouse.llm import Completion, LLMError


class DownJudge:
    """A judge whose every call fails: the check falls back to its rules."""

    name = "fault:judge-down"

    async def complete(self, messages, params) -> Completion:
        raise LLMError("judge down")

    def close(self) -> None: ...
