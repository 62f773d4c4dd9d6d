"""What an eval run will cost, before it runs: rendered prompt tokens per row, expected output, judge calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loop_tui.agent.tools.base import ToolContext
from loop_tui.agent.trim import estimate_tokens

DEFAULT_OUTPUT_TOKENS = 300
JUDGE_OVERHEAD_TOKENS = 250  # the judge's own instructions around the row
JUDGE_OUTPUT_TOKENS = 120
SAMPLE_ROWS = 25


@dataclass(frozen=True)
class Estimate:
    """Rows to run, model calls (task + judges), and the estimated USD cost (None without prices)."""

    rows: int
    calls: int
    cost_usd: float | None


def estimate_eval_cost(ctx: ToolContext, spec: Any, dataset_id: str, scorers: list[str], model: str) -> Estimate:
    """Estimate a run's cost from a sample of rendered rows and the catalogue's prices."""
    from loop_tui.evals import render_prompt
    from loop_tui.evals.registry import is_llm_judge
    from loop_tui.llm import Usage, estimate_cost
    from loop_tui.store.schema import row_to_braintrust

    ws = ctx.workspace
    rows = ws.query("SELECT count(*) AS n FROM dataset WHERE dataset_id = ?", [dataset_id])[0]["n"]
    sample = [
        row_to_braintrust("dataset", r)
        for r in ws.query("SELECT * FROM dataset WHERE dataset_id = ? LIMIT ?", [dataset_id, SAMPLE_ROWS])
    ]
    prompt_tokens = []
    for row in sample:
        try:
            prompt_tokens.append(sum(estimate_tokens(m["content"]) for m in render_prompt(spec.messages, row)))
        except Exception:  # a row the template cannot render fails at run time, costing nothing
            continue
    avg_prompt = sum(prompt_tokens) / len(prompt_tokens) if prompt_tokens else 0
    output = int((spec.params or {}).get("max_tokens") or DEFAULT_OUTPUT_TOKENS)
    judges = [s for s in scorers if is_llm_judge(s) or _saved_judge(ctx, s)]
    task = estimate_cost(model, Usage(int(avg_prompt * rows), output * rows), ctx.settings)
    judge_usage = Usage(int((avg_prompt + output + JUDGE_OVERHEAD_TOKENS) * rows), JUDGE_OUTPUT_TOKENS * rows)
    judge = estimate_cost(model, judge_usage, ctx.settings) if judges else 0.0
    cost = None if task is None or judge is None else task + judge * len(judges)
    return Estimate(rows=rows, calls=rows * (1 + len(judges)), cost_usd=None if cost is None else round(cost, 6))


def _saved_judge(ctx: ToolContext, name: str) -> bool:
    from loop_tui.errors import NotFoundError

    try:
        return ctx.workspace.get_object("scorer", ctx.project().id, name).data.get("type") == "llm"
    except NotFoundError:
        return False
