"""The model catalogue (`loop_tui/data/models.json`) and cost estimates.

The JSON is plain data so other layers (BTQL's `estimated_cost()`) can read it without importing this
module. Prices are USD per million tokens. Cost follows `base.Usage`'s normalised counts, which already
encode each provider's cached-token rule (OpenAI's `prompt_tokens` include cached tokens; Anthropic's
`input_tokens` exclude cache reads and writes, and its provider adds them in):

    cost = (prompt - cached - cache_written) * input + cached * cached_input
           + cache_written * cache_write + completion * output
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from loop_tui.llm.base import Usage

if TYPE_CHECKING:
    from loop_tui.config import Settings


@dataclass(frozen=True)
class ModelInfo:
    """One catalogue entry."""

    name: str
    provider: str
    model_id: str
    input_per_mtok: float | None
    output_per_mtok: float | None
    cached_input_per_mtok: float | None = None
    cache_write_per_mtok: float | None = None
    context_window: int | None = None
    max_output_tokens: int | None = None
    display_name: str | None = None


@dataclass(frozen=True)
class Prices:
    """USD per million tokens for one model, after settings overrides."""

    input: float
    output: float
    cached_input: float
    cache_write: float


@cache
def load_catalog() -> dict[str, ModelInfo]:
    """Every catalogue model by name (read once from the packaged JSON)."""
    raw = json.loads(resources.files("loop_tui").joinpath("data", "models.json").read_text(encoding="utf-8"))
    fields = set(ModelInfo.__dataclass_fields__) - {"name"}
    return {
        name: ModelInfo(name=name, **{k: v for k, v in entry.items() if k in fields})
        for name, entry in raw["models"].items()
    }


def lookup_model(name: str) -> ModelInfo | None:
    """The catalogue entry for a catalogue name, a provider model id, or either behind a `provider/` prefix."""
    catalog = load_catalog()
    candidates = [name]
    if "/" in name:
        candidates.append(name.split("/", 1)[1])
    for candidate in candidates:
        if candidate in catalog:
            return catalog[candidate]
        for info in catalog.values():
            if info.model_id == candidate:
                return info
    return None


def _override(settings: Settings | None, name: str) -> dict[str, float]:
    if settings is None:
        return {}
    prices = settings.models.prices
    bare = name.split("/", 1)[1] if "/" in name else name
    return dict(prices.get(bare) or {}) | dict(prices.get(name) or {})


def prices_for(name: str, settings: Settings | None = None) -> Prices | None:
    """Prices for a model (catalogue, then `settings.models.prices` overrides); None when unknown."""
    info = lookup_model(name)
    override = _override(settings, name)
    base: dict[str, Any] = {}
    if info is not None:
        base = {
            "input": info.input_per_mtok,
            "output": info.output_per_mtok,
            "cached_input": info.cached_input_per_mtok,
            "cache_write": info.cache_write_per_mtok,
        }
    merged = {k: v for k, v in base.items() if v is not None} | {k: float(v) for k, v in override.items()}
    if "input" not in merged or "output" not in merged:
        return None
    return Prices(
        input=merged["input"],
        output=merged["output"],
        # Without a cache price, cached tokens are billed like any input token (the conservative guess).
        cached_input=merged.get("cached_input", merged["input"]),
        cache_write=merged.get("cache_write", merged["input"]),
    )


def estimate_cost(model_name: str, usage: Usage, settings: Settings | None = None) -> float | None:
    """Estimated USD cost of one request's usage, or None for a model without known prices."""
    prices = prices_for(model_name, settings)
    if prices is None:
        return None
    cached = usage.prompt_cached_tokens
    written = usage.prompt_cache_creation_tokens
    uncached = max(usage.prompt_tokens - cached - written, 0)
    total = (
        uncached * prices.input
        + cached * prices.cached_input
        + written * prices.cache_write
        + usage.completion_tokens * prices.output
    )
    return total / 1_000_000
