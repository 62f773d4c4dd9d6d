"""Model providers: resolve a model name, build a streaming provider, estimate what a request cost.

    resolved = resolve_model("gpt-4o-mini", settings)      # or "anthropic/claude-…", "ollama/llama3", None
    provider = make_provider(resolved, settings)           # OpenAI-compatible or Anthropic, over httpx
    async for event in provider.stream(messages, tools, resolved.model_id, ModelParams(...)):
        ...                                                # TextDelta, ToolCallDelta, ToolCall, Usage, Done, ProviderError
    estimate_cost(resolved.name, usage, settings)

httpx and the provider modules load only when a provider is made, so importing this package is cheap.
"""

from loop_tui.llm.base import (
    Done,
    ModelParams,
    Provider,
    ProviderError,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from loop_tui.llm.catalog import ModelInfo, Prices, estimate_cost, load_catalog, lookup_model, prices_for
from loop_tui.llm.resolve import BUILTIN_ENDPOINTS, OFFLINE, ResolvedModel, make_provider, resolve_model

__all__ = [
    "BUILTIN_ENDPOINTS",
    "OFFLINE",
    "Done",
    "ModelInfo",
    "ModelParams",
    "Prices",
    "Provider",
    "ProviderError",
    "ResolvedModel",
    "StreamEvent",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "Usage",
    "estimate_cost",
    "load_catalog",
    "lookup_model",
    "make_provider",
    "prices_for",
    "resolve_model",
]
