"""The eval engine: prompt tasks, scorers, the experiment runner and experiment comparison.

Imports are lazy so `import loop_tui.evals` stays cheap; see each submodule for details.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "render_prompt": "loop_tui.evals.prompt",
    "PromptSpec": "loop_tui.evals.prompt",
    "Score": "loop_tui.evals.score",
    "Scorer": "loop_tui.evals.score",
    "CodeScorer": "loop_tui.evals.code_scorer",
    "run_experiment": "loop_tui.evals.runner",
    "run_eval": "loop_tui.evals.runner",
    "EvalSpec": "loop_tui.evals.spec",
    "ExperimentResult": "loop_tui.evals.runner",
    "Progress": "loop_tui.evals.runner",
    "summarize": "loop_tui.evals.summary",
    "compare_rows": "loop_tui.evals.compare",
    "ExperimentSummary": "loop_tui.evals.summary",
    "RowDiff": "loop_tui.evals.compare",
    "resolve_scorer": "loop_tui.evals.registry",
    "TemplateError": "loop_tui.evals.mustache",
    "estimate_eval_cost": "loop_tui.evals.estimate",
    "list_experiments": "loop_tui.evals.experiments",
    "dataset_rows": "loop_tui.evals.experiments",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'loop_tui.evals' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
