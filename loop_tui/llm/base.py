"""The one streaming interface every model provider implements.

A provider turns a list of chat messages (and optional tool schemas) into an async stream of
`StreamEvent`s. Messages use one neutral shape (below) that each provider maps to its wire format,
so the agent and the eval engine never see provider differences.

Neutral message shape (plain dicts, JSON-serialisable, safe to save in a transcript):
    {"role": "system", "content": "..."}
    {"role": "user", "content": "..."}
    {"role": "assistant", "content": "...", "tool_calls": [{"id", "name", "arguments": {...}}]}
    {"role": "tool", "tool_call_id": "...", "name": "...", "content": "..."}

Tool schema shape:
    {"name": "...", "description": "...", "parameters": {JSON schema}}
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class TextDelta:
    """A piece of the assistant's answer text."""

    text: str


@dataclass(frozen=True)
class ToolCallDelta:
    """A fragment of a tool call's JSON arguments, as it streams (index = position in the reply)."""

    index: int
    id: str | None
    name: str | None
    arguments_delta: str


@dataclass(frozen=True)
class ToolCall:
    """A complete tool call, emitted once its arguments have fully arrived and parsed.

    If the model sent arguments that are not a JSON object (hallucinated or cut off at `length`), `error`
    says so in one sentence, `arguments` is `{}` and `raw_arguments` holds what arrived: do not run the
    tool, send `error` back to the model as the tool result so it can try again.
    """

    id: str
    name: str
    arguments: dict[str, Any]
    error: str | None = None
    raw_arguments: str | None = None


@dataclass(frozen=True)
class Usage:
    """Token counts for the request (cumulative; the last one seen is the total).

    Normalised across providers the way Braintrust records them: `prompt_tokens` is every input token,
    INCLUDING `prompt_cached_tokens` (read from cache) and `prompt_cache_creation_tokens` (written to it).
    OpenAI already counts that way; Anthropic's `input_tokens` excludes both, so its provider adds them in.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_cached_tokens: int = 0
    prompt_cache_creation_tokens: int = 0


@dataclass(frozen=True)
class Done:
    """The stream ended normally. `stop_reason` is one of: stop, tool_calls, length, content_filter."""

    stop_reason: str
    model: str | None = None


@dataclass(frozen=True)
class ProviderError:
    """The request failed after retries. `kind` classifies it; `message` is one user-facing sentence.

    kind: auth | not_found | rate_limit | server | timeout | connection | context_length | bad_request | protocol
    Messages never contain API keys.
    """

    kind: str
    message: str
    status: int | None = None
    retryable: bool = False


StreamEvent = TextDelta | ToolCallDelta | ToolCall | Usage | Done | ProviderError


@dataclass
class ModelParams:
    """Sampling parameters common to providers; `extra` passes anything else through verbatim."""

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    response_format: dict[str, Any] | None = None  # {"type": "json_object"} or a json_schema spec
    tool_choice: str | dict[str, Any] | None = None  # "auto" | "required" | "none" | {"name": ...}
    stop: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Provider(Protocol):
    """A model backend. Implementations: OpenAI-compatible, Anthropic, offline."""

    name: str

    def stream(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        model: str,
        params: ModelParams | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Stream one model reply. Never raises for API failures: yields a `ProviderError` instead."""
        ...
