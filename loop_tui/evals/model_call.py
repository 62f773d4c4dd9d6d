"""One model call through `loop_tui.llm`: collect a stream into text, tool calls, usage and timings.

Shared by the prompt task and the LLM-judge scorers so both record tokens, time to first token and
estimated cost the same way.

A reply cut off mid-stream by a transient fault (the connection dropped, the server failed mid-reply) is
asked for again here, up to `PARTIAL_RETRIES` times with the provider's backoff. The provider itself never
retries after partial output, because in a chat the user has already seen it; in a batch eval nobody saw
the partial reply, so a cut-off is a transient fault like a 429, and the row's score must not depend on it.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

from loop_tui.errors import UserError

PARTIAL_RETRIES = 3
_NOT_RETRIED = "; the reply was cut off and is not retried after partial output"


class ModelCallError(Exception):
    """The provider reported a failure (after its own retries); `kind` is the ProviderError kind.

    `partial`: the reply had started streaming when it failed (a transient cut-off if `retryable`)."""

    def __init__(self, kind: str, message: str, *, retryable: bool = False, partial: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.retryable = retryable
        self.partial = partial


class ModelUnavailable(UserError):
    """The model cannot be called at all (no key, only the offline model). The message says what is
    missing; `advice(where)` says what to do in the words of the place that shows it (see
    `loop_tui.llm.failures.model_unavailable_advice`). `str()` gives the advice for any place."""

    def __init__(self, reason: str, model: str | None, key_env: str | None) -> None:
        from loop_tui.llm.failures import model_unavailable_advice

        self.reason = reason
        self.model = model
        self.key_env = key_env
        message, hint = model_unavailable_advice(reason, model, key_env, "any")
        super().__init__(message, hint=hint)

    def advice(self, where: str) -> str:
        """The whole sentence for `where` ("cli", "app" or "any")."""
        from loop_tui.llm.failures import model_unavailable_advice

        message, hint = model_unavailable_advice(self.reason, self.model, self.key_env, where)
        return f"{message} {hint}"


@dataclass
class ModelReply:
    """Everything one streamed reply produced."""

    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    stop_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_cached_tokens: int = 0
    prompt_cache_creation_tokens: int = 0
    start: float = 0.0
    end: float = 0.0
    time_to_first_token: float | None = None
    estimated_cost: float | None = None
    usage: Any = None

    def metrics(self) -> dict[str, float]:
        """Braintrust-style span metrics for this call."""
        out: dict[str, float] = {
            "start": self.start,
            "end": self.end,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "tokens": self.prompt_tokens + self.completion_tokens,
        }
        if self.prompt_cached_tokens:
            out["prompt_cached_tokens"] = self.prompt_cached_tokens
        if self.prompt_cache_creation_tokens:
            out["prompt_cache_creation_tokens"] = self.prompt_cache_creation_tokens
        if self.time_to_first_token is not None:
            out["time_to_first_token"] = self.time_to_first_token
        if self.estimated_cost is not None:
            out["estimated_cost"] = self.estimated_cost
        return out


def estimate_cost(model_name: str | None, usage: Any, settings: Any = None) -> float | None:
    """Price a call with the llm layer's catalogue; None when the model is unpriced or llm lacks it."""
    if usage is None or not model_name:
        return None
    try:
        from loop_tui.llm import estimate_cost as llm_estimate_cost
    except ImportError:
        return None
    try:
        return llm_estimate_cost(model_name, usage, settings)
    except Exception:  # pricing must never fail a row
        return None


async def call_model(
    provider: Any,
    messages: list[dict[str, Any]],
    *,
    model: str,
    tools: list[dict[str, Any]] | None = None,
    params: Any = None,
    price_as: str | None = None,
    settings: Any = None,
) -> ModelReply:
    """Stream one reply and collect it; a `ProviderError` event becomes a `ModelCallError`. A reply cut off by
    a transient fault is asked for again (see the module doc)."""
    attempt = 0
    while True:
        try:
            return await _call_once(provider, messages, model, tools, params, price_as, settings)
        except ModelCallError as exc:
            if not (exc.partial and exc.retryable):
                raise
            if attempt >= PARTIAL_RETRIES:
                message = str(exc).removesuffix(".").removesuffix(_NOT_RETRIED)
                raise ModelCallError(
                    exc.kind, f"{message} (the reply was cut off {attempt + 1} times in a row).",
                    retryable=True, partial=True,
                ) from None
            await asyncio.sleep(_retry_delay(provider, attempt))
            attempt += 1


def _retry_delay(provider: Any, attempt: int) -> float:
    """The provider's own backoff (its settings, its jitter) when it has one, else 0.5 s doubling, jittered."""
    delay = getattr(provider, "retry_delay", None)
    if callable(delay):
        return float(delay(attempt, None))
    return min(8.0, 0.5 * 2**attempt) * (0.5 + random.random() / 2)


async def _call_once(
    provider: Any,
    messages: list[dict[str, Any]],
    model: str,
    tools: list[dict[str, Any]] | None,
    params: Any,
    price_as: str | None,
    settings: Any,
) -> ModelReply:
    from loop_tui.llm.base import Done, ProviderError, TextDelta, ToolCall, ToolCallDelta, Usage

    reply = ModelReply(start=time.time())
    started = time.perf_counter()
    parts: list[str] = []
    received = False  # any event before a failure: the provider does not retry after that (see module doc)
    async for event in provider.stream(messages, tools, model, params):
        if isinstance(event, TextDelta | ToolCallDelta):
            if reply.time_to_first_token is None:
                reply.time_to_first_token = time.perf_counter() - started
            if isinstance(event, TextDelta):
                parts.append(event.text)
        elif isinstance(event, ToolCall):
            if reply.time_to_first_token is None:
                reply.time_to_first_token = time.perf_counter() - started
            reply.tool_calls.append({"id": event.id, "name": event.name, "arguments": event.arguments})
        elif isinstance(event, Usage):
            reply.usage = event
        elif isinstance(event, Done):
            reply.stop_reason = event.stop_reason
        elif isinstance(event, ProviderError):
            raise ModelCallError(event.kind, event.message, retryable=event.retryable, partial=received)
        received = True
    reply.text = "".join(parts)
    reply.end = reply.start + (time.perf_counter() - started)
    if reply.usage is not None:
        reply.prompt_tokens = reply.usage.prompt_tokens
        reply.completion_tokens = reply.usage.completion_tokens
        reply.prompt_cached_tokens = reply.usage.prompt_cached_tokens
        reply.prompt_cache_creation_tokens = reply.usage.prompt_cache_creation_tokens
        reply.estimated_cost = estimate_cost(price_as or model, reply.usage, settings)
    return reply


@dataclass
class ModelHandle:
    """A provider plus the ids to call and price it with."""

    provider: Any
    model_id: str
    name: str
    owned: bool = False  # created here, so closed here
    settings: Any = None

    async def aclose(self) -> None:
        """Close the provider's HTTP client if we created it."""
        close = getattr(self.provider, "aclose", None)
        if self.owned and close is not None:
            await close()


def open_model(model: str | None, settings: Any = None, provider: Any = None) -> ModelHandle:
    """Resolve a model name to a provider through `loop_tui.llm` (or wrap a given provider)."""
    if provider is not None:
        return ModelHandle(provider, model or "model", model or "model", settings=settings)
    try:
        from loop_tui.llm import make_provider, resolve_model
    except ImportError:
        raise UserError("model providers are not available in this build (loop_tui.llm is missing)") from None
    if settings is None:
        from loop_tui.config import load_settings

        settings = load_settings()
    resolved = resolve_model(model, settings)
    if resolved.provider == "offline":
        raise ModelUnavailable("offline", resolved.name, None)
    if not resolved.key_available():
        raise ModelUnavailable("no_key", resolved.name, resolved.api_key_env)
    return ModelHandle(
        make_provider(resolved, settings), resolved.model_id, resolved.name, owned=True, settings=settings
    )
