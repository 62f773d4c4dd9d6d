"""`EvalSpec`: what one experiment run is, as one typed value (see `runner.run_eval`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from loop_tui.config import Settings
    from loop_tui.evals.prompt import PromptSpec
    from loop_tui.evals.score import Scorer
    from loop_tui.llm.base import Provider

# A scorer as a run accepts it: a name (built-in, or saved in the project), a `Scorer`, or a plain function
# taking keyword arguments (input, output, expected, metadata) and returning a score.
ScorerRef: TypeAlias = "str | Scorer | Callable[..., Any]"


@dataclass
class EvalSpec:
    """One run of `prompt` over `dataset` scored by `scorers`, recorded as an experiment of `project`.

    `dataset` is a dataset name or id in the project, or the rows themselves. `model` overrides the prompt's
    model; `provider` bypasses model resolution (any `loop_tui.llm.base.Provider`: tests, benchmarks).
    `judge_model` is the model of LLM judges (default: the task's model). `row_timeout_s` bounds each
    (row, trial). `dataset_version` runs on the dataset as it was at that version and
    `scorer_definitions` records the saved scorers' definitions when scorers are given as objects (both
    for a re-run, see `evals.rerun`).
    """

    project: str
    prompt: PromptSpec
    dataset: str | list[dict[str, Any]]
    scorers: list[ScorerRef] = field(default_factory=list)
    model: str | None = None
    concurrency: int = 10
    trials: int = 1
    name: str | None = None
    base: str | None = None
    settings: Settings | None = None
    provider: Provider | None = None
    judge_model: str | None = None
    row_timeout_s: float | None = None
    description: str = ""
    metadata: dict[str, Any] | None = None
    dataset_version: int | None = None
    scorer_definitions: dict[str, Any] | None = None
