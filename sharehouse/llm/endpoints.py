"""Many endpoints for one model: ``--api-base`` naming several OpenAI-compatible servers, or a
litellm Router config file, behind one ChatModel.

An ``--api-base`` value is one of:

- one URL (``http://127.0.0.1:8000/v1``): a plain :class:`~sharehouse.llm.remote.RemoteModel`, as
  before this module existed;
- several URLs, comma-separated (``--api-base http://a/v1,http://b/v1``) or given by repeating the
  option: every URL serves the same model, asked for by the model spec (``openai/NAME``);
- the path of a litellm Router config file (YAML or JSON) with a ``model_list`` as litellm documents
  it: each entry has a ``model_name`` (the name the model spec asks for, as with litellm's Router)
  and ``litellm_params`` (``model``, ``api_base``, ``api_key``, ...; a value ``os.environ/NAME`` is
  read from that environment variable). The other sections of such a file (``router_settings``,
  ``litellm_settings``, ...) are not read: routing and cooldowns are this module's own.

Several endpoints become an :class:`EndpointPool`. Each call goes to the endpoint with the fewest
calls in flight; ties go to the one used least recently, so one call at a time still alternates.
An endpoint that fails a call (no connection, timeout, HTTP 5xx or 429) is out of rotation for a
cooldown (5 s, doubled with each further failure in a row, at most 60 s; a 429's ``Retry-After``
when it names one); the same call goes on at once on the next endpoint. Calls already in flight
that fail during the cooldown belong to the same outage and do not lengthen it. When its cooldown
ends the endpoint is back in rotation, one call at a time (its probe) until a call succeeds: a
success resets its cooldown, a failure doubles it. When
every endpoint is out of rotation the call fails as transient with the wait until the first one is
back, so :class:`~sharehouse.llm.retry.RetryingModel` sleeps that long and tries again: a session
fails only when all the endpoints stay down through its retries, as it did with one endpoint.

litellm's own Router (``routing_strategy="least-busy"``) was not used: it counts a call as in flight
only once the call has started, so a burst of calls all pick the same endpoint (twenty calls at once
on two servers: 20 and 0 with litellm 1.106.2; bench/bench_endpoints.py, docs/scaling.md).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sharehouse.llm.base import ChatModel, Completion, GenParams, Message, TransientLLMError
from sharehouse.llm.remote import InvalidReplyError, RemoteModel

log = logging.getLogger(__name__)

#: Separates the endpoints of one ``--api-base`` value.
API_BASE_SEPARATOR = ","
#: File endings of a litellm Router config file (``.json`` is read as JSON, the others as YAML).
ROUTER_CONFIG_SUFFIXES = (".yaml", ".yml", ".json")
#: The URL schemes an endpoint may have.
URL_SCHEMES = ("http", "https")
#: A ``litellm_params`` value ``os.environ/NAME`` is read from the environment variable NAME (litellm's form).
ENV_REFERENCE = "os.environ/"
#: ``litellm_params`` keys sharehouse sets itself: retries are :class:`RetryingModel`'s and this pool's.
OWN_PARAMS = ("model", "api_base", "max_retries", "num_retries")


class ApiBaseError(ValueError):
    """An ``--api-base`` value that names no usable endpoint (the message names the value or file)."""


class Deployment(BaseModel):
    """One endpoint of a model: the litellm model string to ask for, where, and with what else."""

    model_config = ConfigDict(frozen=True)

    model: str
    api_base: str | None = None
    # Other litellm parameters (api_key, api_version, ...), environment references resolved.
    params: dict[str, Any] = Field(default_factory=dict, repr=False)

    @property
    def label(self) -> str:
        """How logs and stats name it (never a key)."""
        return self.api_base or self.model


class ApiBase(BaseModel):
    """What an ``--api-base`` value names: one or more URLs, or one Router config file."""

    model_config = ConfigDict(frozen=True)

    urls: tuple[str, ...] = ()
    config: Path | None = None

    @property
    def many(self) -> bool:
        """True when calls are spread over an :class:`EndpointPool` (not one plain URL)."""
        return self.config is not None or len(self.urls) > 1

    @property
    def text(self) -> str:
        """The value that parses back to this (what a session records as its ``api_base``)."""
        return str(self.config) if self.config is not None else API_BASE_SEPARATOR.join(self.urls)

    def deployments(self, model: str) -> list[Deployment]:
        """The endpoints a call for litellm model ``model`` may go to."""
        if self.config is not None:
            return router_deployments(self.config, model)
        return [Deployment(model=model, api_base=url) for url in self.urls]


def api_base_items(values: str | Iterable[str]) -> list[str]:
    """The endpoints of one ``--api-base`` value, or of the option given several times: each value
    split at commas, stripped, empty pieces dropped."""
    texts = [values] if isinstance(values, str) else list(values)
    return [item.strip() for text in texts for item in text.split(API_BASE_SEPARATOR) if item.strip()]


def _is_config_path(item: str) -> bool:
    return "://" not in item and (item.lower().endswith(ROUTER_CONFIG_SUFFIXES) or Path(item).is_file())


def _check_url(item: str, *, or_config: bool = True) -> str:
    if "://" not in item:
        alternative = f" nor a litellm Router config file ({', '.join(ROUTER_CONFIG_SUFFIXES)})"
        raise ApiBaseError(
            f"{item!r} is not a URL with http:// or https:// (did you mean http://{item}?)"
            + (alternative if or_config else "")
        )
    parts = urlsplit(item)
    if parts.scheme.lower() not in URL_SCHEMES or not parts.netloc or any(c.isspace() for c in item):
        raise ApiBaseError(
            f"{item!r} is not an http:// or https:// URL with a host (like http://127.0.0.1:8000/v1)"
        )
    return item


def parse_api_base(values: str | Iterable[str]) -> ApiBase:
    """Read an ``--api-base`` value (or the values of the repeated option) without opening any file:
    URLs must be http(s) with a host, a config file must be the only item, and no URL may repeat."""
    items = api_base_items(values)
    if not items:
        raise ApiBaseError(
            "no endpoint given: name one or more URLs (comma-separated or with --api-base repeated) "
            "or a litellm Router config file"
        )
    configs = [item for item in items if _is_config_path(item)]
    if configs:
        if len(items) > 1:
            raise ApiBaseError(
                f"the Router config file {configs[0]!r} must be the only endpoint given "
                f"(got {len(items)}: {', '.join(items)})"
            )
        return ApiBase(config=Path(configs[0]).expanduser())
    urls = [_check_url(item) for item in items]
    for i, url in enumerate(urls):
        if url in urls[:i]:
            raise ApiBaseError(f"{url!r} is given twice")
    return ApiBase(urls=tuple(urls))


def check_api_base(values: str | Iterable[str], model: str | None = None) -> ApiBase:
    """:func:`parse_api_base`, and a config file read and checked (for ``model``'s entries, when given)."""
    api = parse_api_base(values)
    if api.config is not None:
        config = load_router_config(api.config)
        if model is not None:
            router_deployments(api.config, model, config=config)
    return api


def normalize_api_base(values: Sequence[str]) -> str:
    """The canonical text of an ``--api-base`` option given ``values``: URLs joined by commas, or a
    config file's absolute path (game processes started elsewhere read the same file). Checked as
    :func:`check_api_base` checks it."""
    api = check_api_base(values)
    if api.config is not None:
        return str(api.config.resolve())
    return api.text


# -- litellm Router config files ------------------------------------------------------------------
class RouterParams(BaseModel):
    """An entry's ``litellm_params``: ``model`` is required; every other key goes to litellm as it is."""

    model_config = ConfigDict(extra="allow")

    model: str
    api_base: str | None = None


class RouterEntry(BaseModel):
    """One ``model_list`` entry: the public ``model_name`` and how to reach one deployment of it."""

    model_config = ConfigDict(extra="allow")  # model_info, tpm, rpm: litellm's, not used here

    model_name: str
    litellm_params: RouterParams


class RouterConfig(BaseModel):
    """A litellm Router (or proxy) config: its ``model_list``; other sections are litellm's own."""

    model_config = ConfigDict(extra="allow")

    model_list: list[RouterEntry] = Field(min_length=1)

    @property
    def model_names(self) -> list[str]:
        return list(dict.fromkeys(entry.model_name for entry in self.model_list))


def load_router_config(path: Path) -> RouterConfig:
    """Read and check a Router config file; every problem is an :class:`ApiBaseError` naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ApiBaseError(f"cannot read the Router config file {str(path)!r}: {reason}") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ApiBaseError(f"{str(path)!r} is not valid JSON: {exc}") from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ApiBaseError(f"{str(path)!r} is not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict) or "model_list" not in data:
        raise ApiBaseError(
            f"{str(path)!r} has no model_list: a litellm Router config file is a mapping with a "
            "model_list of {model_name, litellm_params: {model, api_base, ...}} entries"
        )
    try:
        return RouterConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise ApiBaseError(f"{str(path)!r}: {problems}") from None


def _resolve_env(value: Any, *, path: Path, where: str) -> Any:
    if not (isinstance(value, str) and value.startswith(ENV_REFERENCE)):
        return value
    name = value[len(ENV_REFERENCE) :]
    resolved = os.environ.get(name)
    if not resolved:
        raise ApiBaseError(f"{str(path)!r}: {where} reads the environment variable {name}, which is not set")
    return resolved


def router_deployments(path: Path, model: str, *, config: RouterConfig | None = None) -> list[Deployment]:
    """The deployments of ``model`` (a ``model_name``) in the Router config file at ``path``."""
    config = config or load_router_config(path)
    entries = [entry for entry in config.model_list if entry.model_name == model]
    if not entries:
        raise ApiBaseError(
            f"{str(path)!r} has no model_list entry with model_name {model!r}; give the model as one of: "
            f"{', '.join(config.model_names)}"
        )
    deployments = []
    for i, entry in enumerate(entries):
        params = entry.litellm_params
        where = f"the litellm_params of {model!r} (entry {i + 1})"
        api_base = _resolve_env(params.api_base, path=path, where=where)
        if api_base is not None:
            try:
                api_base = _check_url(str(api_base).strip(), or_config=False)
            except ApiBaseError as exc:
                raise ApiBaseError(f"{str(path)!r}: the api_base in {where}: {exc}") from None
        extra = {
            key: _resolve_env(value, path=path, where=f"{where}, {key}")
            for key, value in (params.model_extra or {}).items()
            if key not in OWN_PARAMS
        }
        deployments.append(Deployment(model=params.model, api_base=api_base, params=extra))
    return deployments


# -- the pool --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CooldownPolicy:
    """How long a failing endpoint stays out of rotation."""

    base_s: float = 5.0
    max_s: float = 60.0

    def seconds(self, failures_in_a_row: int, retry_after: float | None = None) -> float:
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_s)
        return min(self.base_s * 2 ** max(0, failures_in_a_row - 1), self.max_s)


@dataclass(frozen=True)
class EndpointStats:
    """One endpoint as the pool sees it now."""

    label: str
    requests: int  # calls sent to it
    failures: int  # calls it failed (each sent the call on, or ended it)
    in_flight: int
    cooldown_s: float  # seconds until it is back in rotation (0: in rotation)


@dataclass
class _Endpoint:
    model: ChatModel
    label: str
    in_flight: int = 0
    requests: int = 0
    failures: int = 0
    failures_in_a_row: int = 0
    down_until: float = 0.0
    last_used: int = 0

    @property
    def rank(self) -> tuple[bool, int, int]:
        """Lowest first: an endpoint back from a cooldown takes one call (its probe) before more,
        then the fewest calls in flight, then the least recently used."""
        return (self.failures_in_a_row > 0 and self.in_flight > 0, self.in_flight, self.last_used)


class EndpointPool:
    """A ChatModel over several endpoints of one model (see the module docstring): calls balanced by
    in-flight count, a failing endpoint cooled down and probed again later, a failed call carried on
    at once by the next endpoint in rotation."""

    def __init__(
        self,
        models: Sequence[ChatModel],
        *,
        labels: Sequence[str] | None = None,
        name: str | None = None,
        cooldown: CooldownPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not models:
            raise ValueError("an endpoint pool needs at least one endpoint")
        labels = list(labels) if labels is not None else [m.name for m in models]
        self._endpoints = [_Endpoint(model=m, label=label) for m, label in zip(models, labels, strict=True)]
        self.name = name or models[0].name
        self.cooldown = cooldown or CooldownPolicy()
        self._clock = clock
        self._lock = threading.Lock()
        self._uses = 0
        self.failovers = 0  # calls carried on by another endpoint after one failed them

    @classmethod
    def from_deployments(
        cls,
        deployments: Sequence[Deployment],
        *,
        name: str,
        timeout_s: float,
        cooldown: CooldownPolicy | None = None,
    ) -> EndpointPool:
        models = [
            RemoteModel(d.model, api_base=d.api_base, timeout_s=timeout_s, extra=d.params)
            for d in deployments
        ]
        return cls(models, labels=[d.label for d in deployments], name=name, cooldown=cooldown)

    # -- choosing ------------------------------------------------------------------------------
    def _acquire(self, tried: set[int]) -> int | None:
        """The endpoint this call goes to next (its in-flight count taken), or None when no untried
        endpoint is in rotation."""
        with self._lock:
            now = self._clock()
            ready = [i for i, ep in enumerate(self._endpoints) if i not in tried and ep.down_until <= now]
            if not ready:
                return None
            best = min(ready, key=lambda i: self._endpoints[i].rank)
            ep = self._endpoints[best]
            self._uses += 1
            ep.last_used = self._uses
            ep.in_flight += 1
            ep.requests += 1
            return best

    def _release(self, index: int) -> None:
        with self._lock:
            self._endpoints[index].in_flight -= 1

    def _succeeded(self, index: int) -> None:
        with self._lock:
            ep = self._endpoints[index]
            was_down, ep.failures_in_a_row = ep.failures_in_a_row, 0
        if was_down:
            log.info("%s: endpoint %s is back in rotation", self.name, ep.label)

    def _failed(self, index: int, exc: TransientLLMError) -> None:
        with self._lock:
            ep = self._endpoints[index]
            ep.failures += 1
            if isinstance(exc, InvalidReplyError):
                return  # the model's reply, not the endpoint: no cooldown
            now = self._clock()
            if ep.down_until > now:
                return  # a call sent before the endpoint went out of rotation: the same outage
            ep.failures_in_a_row += 1
            seconds = self.cooldown.seconds(ep.failures_in_a_row, exc.retry_after)
            ep.down_until = now + seconds
        log.warning("%s: endpoint %s out of rotation for %.0f s: %s", self.name, ep.label, seconds, exc)

    def _wait_for_any(self) -> float:
        """Seconds until the first endpoint out of rotation is back (0 when one is in rotation)."""
        with self._lock:
            now = self._clock()
            return max(0.0, min(ep.down_until for ep in self._endpoints) - now)

    # -- ChatModel ---------------------------------------------------------------------------------
    async def complete(self, messages: list[Message], params: GenParams) -> Completion:
        tried: set[int] = set()
        errors: list[str] = []
        while (index := self._acquire(tried)) is not None:
            tried.add(index)
            try:
                result = await self._endpoints[index].model.complete(messages, params)
            except TransientLLMError as exc:
                self._failed(index, exc)
                errors.append(str(exc))
                continue
            finally:
                self._release(index)
            self._succeeded(index)
            if len(tried) > 1:
                with self._lock:
                    self.failovers += 1
            return result
        wait = self._wait_for_any()
        n = len(self._endpoints)
        if errors:
            raise TransientLLMError(
                f"{self.name}: {len(errors)} of {n} endpoints failed this call ({'; '.join(errors)})",
                retry_after=wait or None,
            )
        raise TransientLLMError(
            f"{self.name}: all {n} endpoints are out of rotation; the first is back in {wait:.1f} s",
            retry_after=wait,
        )

    def stats(self) -> list[EndpointStats]:
        """Each endpoint's counts and state now, in the order given."""
        with self._lock:
            now = self._clock()
            return [
                EndpointStats(
                    label=ep.label,
                    requests=ep.requests,
                    failures=ep.failures,
                    in_flight=ep.in_flight,
                    cooldown_s=max(0.0, ep.down_until - now),
                )
                for ep in self._endpoints
            ]

    def close(self) -> None:
        for ep in self._endpoints:
            ep.model.close()


def endpoint_model(model: str, api_base: str | None, *, timeout_s: float) -> ChatModel:
    """The ChatModel for litellm model ``model`` at ``api_base``: one :class:`RemoteModel` for no
    ``api_base`` or a single URL (exactly as before), an :class:`EndpointPool` for several URLs or a
    Router config file."""
    if api_base is None:
        return RemoteModel(model, timeout_s=timeout_s)
    api = parse_api_base(api_base)
    if not api.many:
        return RemoteModel(model, api_base=api.urls[0], timeout_s=timeout_s)
    return EndpointPool.from_deployments(api.deployments(model), name=f"litellm:{model}", timeout_s=timeout_s)
