"""`estimated_cost()`: a span's USD cost from its metrics and the model price table (research §6.10).

Prices come from `loop_tui/data/models.json` (the llm team's catalogue, read as plain JSON). A finite
`metrics.estimated_cost` wins; scorer spans cost nothing here (their cost belongs to the scorer); spans
without a priced model or token counts give null.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

# Used only when models.json is missing or unreadable; $ per million tokens (input, output, cached input).
_FALLBACK = {
    "gpt-4o": (2.5, 10.0, 1.25), "gpt-4o-mini": (0.15, 0.6, 0.075), "gpt-4.1": (2.0, 8.0, 0.5),
    "gpt-4.1-mini": (0.4, 1.6, 0.1), "claude-3-5-sonnet": (3.0, 15.0, 0.3), "claude-3-5-haiku": (0.8, 4.0, 0.08),
}


@lru_cache(maxsize=1)
def price_table() -> dict[str, tuple[float, float, float, float]]:
    """{model name: (input, output, cached input, cache write) per 1M tokens}, including `provider/model` keys."""
    path = Path(__file__).resolve().parents[1] / "data" / "models.json"
    table: dict[str, tuple[float, float, float, float]] = {}
    try:
        models = json.loads(path.read_text())["models"]
        for name, m in models.items():
            inp, out = float(m["input_per_mtok"]), float(m["output_per_mtok"])
            cached = float(m.get("cached_input_per_mtok") or inp)
            write = float(m.get("cache_write_per_mtok") or inp)
            for key in {name, m.get("model_id") or name, f"{m.get('provider')}/{m.get('model_id') or name}"}:
                table[key] = (inp, out, cached, write)
    except (OSError, ValueError, KeyError, TypeError):
        table = {k: (i, o, c, i) for k, (i, o, c) in _FALLBACK.items()}
    return table


def cost_sql(param, metrics: str = '"metrics"', model: str = '"_meta_model"', span_type: str = '"_span_type"',
             purpose: str = "json_extract_string(\"span_attributes\", '$.purpose')") -> str:
    """SQL for one span's cost; `param(value, sql_type)` registers bound parameters."""
    table = price_table()
    if table:
        names = param(list(table), "VARCHAR[]")
        # Parallel lists looked up by the model's position: one parameter per column, not per model.
        idx = f"list_position({names}, {model})"
        cols = [param([p[i] for p in table.values()], "DOUBLE[]") for i in range(4)]
        rate = lambda i: f"list_extract({cols[i]}, {idx})"  # noqa: E731
        m = lambda k: f"coalesce({metrics}['{k}'], 0)"  # noqa: E731
        creation = m("prompt_cache_creation_tokens")
        uncached = f"greatest({m('prompt_tokens')} - {m('prompt_cached_tokens')} - {creation}, 0)"
        priced = (
            f"CASE WHEN {idx} IS NOT NULL AND ({metrics}['prompt_tokens'] IS NOT NULL OR {metrics}['completion_tokens'] IS NOT NULL) "
            f"THEN ({uncached} * {rate(0)} + {m('prompt_cached_tokens')} * {rate(2)} + {creation} * {rate(3)} "
            f"+ {m('completion_tokens')} * {rate(1)}) / 1000000.0 END"
        )
    else:
        priced = "NULL"
    return (
        f"(CASE WHEN {purpose} = 'scorer' OR {span_type} = 'score' THEN NULL "
        f"WHEN isfinite({metrics}['estimated_cost']) THEN {metrics}['estimated_cost'] ELSE {priced} END)"
    )
