"""The API backend: any model litellm can reach (OpenAI, Anthropic, Gemini, an OpenAI-compatible
server, ...). API keys are read by litellm from the environment; sharehouse never stores them."""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

from sharehouse.llm.base import Completion, GenParams, LLMError, Message, TransientLLMError


def _import_litellm() -> Any:
    # Keep litellm off the network at import (it would fetch a model cost map otherwise).
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_TELEMETRY", "False")
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    return litellm


class InvalidReplyError(TransientLLMError):
    """A reply that is not what the call asked for (JSON that does not parse): the model's doing,
    not its endpoint's, so an endpoint pool keeps that endpoint in rotation."""


def _retry_after(exc: Exception) -> float | None:
    # litellm keeps the provider's headers in ``litellm_response_headers``; its ``response`` is a
    # stand-in without them. Look in every place, first hit wins.
    candidates = (
        getattr(exc, "litellm_response_headers", None),
        getattr(exc, "headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
    )
    for headers in candidates:
        if not headers:
            continue
        try:
            value = headers.get("retry-after") or headers.get("Retry-After")
            if value is not None:
                return float(value)
        except (AttributeError, TypeError, ValueError):
            continue
    return None


class RemoteModel:
    """A ChatModel over ``litellm.acompletion``."""

    def __init__(
        self,
        model: str,
        *,
        api_base: str | None = None,
        timeout_s: float = 60.0,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.api_base = api_base
        self.timeout_s = timeout_s
        self.extra = dict(extra or {})
        self.name = f"litellm:{model}"
        self._litellm = _import_litellm()
        # OpenAI and vLLM take a JSON schema as ``{"type": "json_schema", ...}``; llama-cpp-python's
        # server refuses that form and takes ``{"type": "json_object", "schema": ...}``. The first
        # refusal switches this model to the second form for good.
        self._schema_in_json_object = False

    async def complete(self, messages: list[Message], params: GenParams) -> Completion:
        try:
            return await self._complete(messages, params)
        except LLMError as exc:
            if params.json_schema is None or self._schema_in_json_object or not _refuses_json_schema(exc):
                raise
            self._schema_in_json_object = True
            return await self._complete(messages, params)

    async def _complete(self, messages: list[Message], params: GenParams) -> Completion:
        litellm = self._litellm
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "timeout": self.timeout_s,
            "num_retries": 0,
            "max_retries": 0,
            **self.extra,
        }
        if params.stop:
            kwargs["stop"] = list(params.stop)
        if params.seed is not None:
            kwargs["seed"] = params.seed
        if self.api_base:
            kwargs["api_base"] = self.api_base
            # An OpenAI-compatible server needs some key; a real one comes from the environment.
            if self.model.startswith("openai/") and not os.environ.get("OPENAI_API_KEY"):
                kwargs.setdefault("api_key", "sk-no-key-needed")
        if params.json_schema is not None:
            kwargs["response_format"] = self._response_format(params.json_schema)
        started = time.perf_counter()
        exc_mod = litellm.exceptions
        transient = (
            exc_mod.RateLimitError,
            exc_mod.Timeout,
            exc_mod.APIConnectionError,
            exc_mod.ServiceUnavailableError,
            exc_mod.InternalServerError,
            exc_mod.BadGatewayError,
            exc_mod.APIResponseValidationError,
        )
        try:
            if params.on_token is not None:
                text, usage = await self._stream(kwargs, params)
            else:
                resp = await litellm.acompletion(**kwargs)
                text = resp.choices[0].message.content or ""
                usage = getattr(resp, "usage", None)
        except transient as exc:
            raise TransientLLMError(
                f"{self.name}: {type(exc).__name__}: {_short(exc)}", _retry_after(exc)
            ) from exc
        except exc_mod.APIError as exc:
            status = getattr(exc, "status_code", None)
            if status is None or int(status) >= 500 or int(status) == 429:
                raise TransientLLMError(
                    f"{self.name}: API error {status}: {_short(exc)}", _retry_after(exc)
                ) from exc
            raise LLMError(f"{self.name}: API error {status}: {_short(exc)}") from exc
        except (exc_mod.AuthenticationError, exc_mod.BadRequestError, exc_mod.NotFoundError) as exc:
            raise LLMError(f"{self.name}: {type(exc).__name__}: {_short(exc)}") from exc
        except (ValueError, KeyError, IndexError, AttributeError, TypeError) as exc:
            # Malformed or truncated bodies surface as parse errors inside the client.
            raise TransientLLMError(
                f"{self.name}: malformed response: {type(exc).__name__}: {_short(exc)}"
            ) from exc
        latency = time.perf_counter() - started
        if params.json_schema is not None:
            try:
                json.loads(text)
            except ValueError as exc:
                raise InvalidReplyError(f"{self.name}: invalid JSON in reply: {text[:200]!r}") from exc
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0) if usage else 0
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0) if usage else 0
        return Completion(
            text=text,
            model=self.name,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_s=latency,
        )

    def _response_format(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self._schema_in_json_object:
            return {"type": "json_object", "schema": schema}
        return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema, "strict": True}}

    async def _stream(self, kwargs: dict[str, Any], params: GenParams) -> tuple[str, Any]:
        resp = await self._litellm.acompletion(stream=True, stream_options={"include_usage": True}, **kwargs)
        pieces: list[str] = []
        usage = None
        async for chunk in resp:
            if getattr(chunk, "usage", None):
                usage = chunk.usage
            if not chunk.choices:
                continue
            delta = chunk.choices[0].delta.content
            if delta:
                pieces.append(delta)
                assert params.on_token is not None
                params.on_token(delta)
        return "".join(pieces), usage

    def close(self) -> None:
        return None


def _refuses_json_schema(error: LLMError) -> bool:
    """The server rejected a ``response_format`` of type ``json_schema``: llama-cpp-python's server
    answers with a validation error that names the field and the value it got."""
    text = str(error.__cause__ or error)
    return "response_format" in text and "json_schema" in text


_SECRET_NAME = re.compile(r"(API_KEY|_KEY|TOKEN|SECRET|PASSWORD)$", re.I)
_KEY_SHAPE = re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_\-]{8,}")


def redact_secrets(text: str) -> str:
    """Hide API keys an error message may quote (a server echoing the key it was sent): the values
    of secret-looking environment variables, and anything shaped like ``sk-...``."""
    for name, value in os.environ.items():
        if len(value) >= 8 and _SECRET_NAME.search(name) and value in text:
            text = text.replace(value, "[redacted]")
    return _KEY_SHAPE.sub("[redacted]", text)


def _short(exc: Exception, limit: int = 300) -> str:
    text = redact_secrets(" ".join(str(exc).split()))
    return text if len(text) <= limit else text[:limit] + "..."
