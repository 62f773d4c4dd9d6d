"""Estimate what an eval will cost before running it (for the run_eval confirmation and the playground).

Rough by design: prompt tokens are counted as characters / 4 of each rendered prompt, the reply as the
prompt's `max_tokens` (or 256 when unset), judges as their rendered prompt plus a short verdict. Prices
come from the llm layer's catalogue; a model without a price makes the estimate None (unknown), not 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from loop_tui.evals.mustache import TemplateError

CHARS_PER_TOKEN = 4
DEFAULT_REPLY_TOKENS = 256
JUDGE_REPLY_TOKENS = 150  # reasons + choice


@dataclass
class CostEstimate:
    """The estimate and what it assumed."""

    usd: float | None
    calls: int
    prompt_tokens: int
    completion_tokens: int
    unpriced_models: list[str]


def _tokens(messages: list[dict[str, Any]]) -> int:
    return sum(len(str(m.get("content") or "")) for m in messages) // CHARS_PER_TOKEN + 4 * len(messages)


def _price(model: str | None, prompt: int, completion: int, settings: Any) -> float | None:
    if not model:
        return None
    try:
        from loop_tui.llm import prices_for
    except ImportError:
        return None
    prices = prices_for(model, settings)
    if prices is None:
        return None
    return (prompt * prices.input + completion * prices.output) / 1_000_000


def estimate_eval_cost(
    prompt: Any,
    rows: list[dict[str, Any]],
    scorers: Sequence[Any] = (),
    *,
    model: str | None = None,
    trials: int = 1,
    settings: Any = None,
) -> CostEstimate:
    """Estimate the model cost of running `prompt` over `rows` with `scorers` (LLM judges cost too)."""
    from loop_tui.evals.scorers import LLMClassifier

    model = model or prompt.model
    reply_tokens = int(prompt.params.get("max_tokens") or DEFAULT_REPLY_TOKENS)
    total_prompt = total_completion = calls = 0
    usd: float | None = 0.0
    unpriced: set[str] = set()
    for row in rows:
        try:
            task_prompt = _tokens(prompt.render(row))
        except TemplateError:
            continue  # that row will fail without a model call
        judge_costs = []
        for scorer in scorers:
            if isinstance(scorer, LLMClassifier):
                try:
                    judge_prompt = _tokens(
                        scorer.build_messages(
                            "x" * reply_tokens * CHARS_PER_TOKEN,
                            row.get("expected"),
                            input=row.get("input"),
                            metadata=row.get("metadata") or {},
                        )
                    )
                except TemplateError:
                    continue
                judge_costs.append((scorer.model or model, judge_prompt, JUDGE_REPLY_TOKENS))
        for call_model, p, c in [(model, task_prompt, reply_tokens), *judge_costs]:
            total_prompt += p * trials
            total_completion += c * trials
            calls += trials
            cost = _price(call_model, p * trials, c * trials, settings)
            if cost is None:
                unpriced.add(str(call_model))
                usd = None
            elif usd is not None:
                usd += cost
    return CostEstimate(usd, calls, total_prompt, total_completion, sorted(unpriced))
