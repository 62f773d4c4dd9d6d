"""One model call through `loop_tui.llm`: collect a stream into text, tool calls, usage and timings.

Shared by the prompt task and the LLM-judge scorers so both record tokens, time to first token and
estimated cost the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


class ModelCallError(Exception):
    """The provider reported a failure (after its own retries); `kind` is the ProviderError kind."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


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
    """Stream one reply and collect it; a `ProviderError` event becomes a `ModelCallError`."""
    from loop_tui.llm.base import Done, ProviderError, TextDelta, ToolCall, ToolCallDelta, Usage

    reply = ModelReply(start=time.time())
    started = time.perf_counter()
    parts: list[str] = []
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
            raise ModelCallError(event.kind, event.message)
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
    from loop_tui.errors import UserError

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
        raise UserError(
            "evals need a language model, but only the built-in offline model is configured",
            hint="set OPENAI_API_KEY or ANTHROPIC_API_KEY (or a provider in settings) and pass --model",
        )
    if not resolved.key_available():
        raise UserError(
            f"no API key for the model {resolved.name!r}: set the environment variable {resolved.api_key_env}",
            hint="or pick another model with --model",
        )
    return ModelHandle(
        make_provider(resolved, settings), resolved.model_id, resolved.name, owned=True, settings=settings
    )
