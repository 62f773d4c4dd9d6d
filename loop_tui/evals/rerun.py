"""Re-run an experiment exactly: the same prompt, model and parameters, the dataset as it was, the same scorers.

An experiment records everything its run depended on (see `experiments.create_experiment`): the prompt
messages, model and parameters, the trials, the dataset and its version (the id of the last write that had
changed it), the judge model, and the definitions of the project's own scorers as they were. A re-run
repeats that run against the current model endpoint and compares the new experiment with the original,
so the summary shows how much the results move between identical runs (the model's non-determinism),
or, with `--model`, what a model change does with everything else held still.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loop_tui.errors import UserError


@dataclass
class RerunPlan:
    """What a re-run will use, and what it could not pin (experiments recorded before pinning existed)."""

    prompt: Any
    model: str | None
    dataset: str
    dataset_version: int | None
    scorers: list[Any]
    scorer_definitions: dict[str, Any]
    judge_model: str | None
    trials: int
    base: str
    notes: list[str] = field(default_factory=list)


def plan_rerun(
    workspace: Any, project: str, experiment: str, *, model: str | None = None, settings: Any = None,
    provider: Any = None,
) -> RerunPlan:
    """Read what `experiment` ran with; `model` replaces its model (everything else stays pinned)."""
    from loop_tui.evals.prompt import PromptSpec
    from loop_tui.evals.registry import resolve_scorer, scorer_from_object
    from loop_tui.evals.scorers import LLMClassifier

    proj = workspace.project(project)
    exp = workspace.get_object("experiment", proj.id, experiment)
    data = exp.data
    if not data.get("dataset_id"):
        raise UserError(f"experiment {exp.name!r} ran on rows given in code, not a dataset; there is nothing to re-run")
    if not isinstance(data.get("prompt"), dict) or not data["prompt"].get("messages"):
        raise UserError(f"experiment {exp.name!r} did not record its prompt; it cannot be re-run")
    prompt_data = data["prompt"]
    prompt = PromptSpec.from_dict(prompt_data, name=prompt_data.get("name"), id=prompt_data.get("id"))
    notes: list[str] = []
    version = data.get("dataset_version")
    if version is None:
        notes.append("it did not record its dataset version: the dataset is used as it is now")
    definitions: dict[str, Any] = data.get("scorer_definitions") or {}
    # Judges keep the model they used (the run's model unless one was named), even when `model` changes.
    judge_model = data.get("judge_model") or data.get("model")
    judge_provider = provider if data.get("judge_model") is None else None
    scorers: list[Any] = []
    for name in data.get("scorers") or []:
        if name in definitions:  # the project's scorer as it was, even if it was edited or deleted since
            scorer = scorer_from_object(name, definitions[name], settings=settings, provider=judge_provider)
            if isinstance(scorer, LLMClassifier) and scorer.model is None:
                scorer.model = judge_model
        elif "scorer_definitions" in data:  # recorded with pinning: a name without a definition is built in
            scorer = resolve_scorer(name, settings=settings, judge_model=judge_model, provider=judge_provider)
        else:
            try:
                scorer = resolve_scorer(name, workspace, proj.id, settings=settings, judge_model=judge_model,
                                        provider=judge_provider)
            except UserError:
                raise UserError(
                    f"experiment {exp.name!r} was scored by {name!r}, which is neither built in nor saved in the "
                    "project now, so it cannot be re-run exactly"
                ) from None
            notes.append(f"scorer {name!r} is used as it is now (the experiment did not record its definition)")
        scorers.append(scorer)
    trials = int((data.get("metadata") or {}).get("trials") or 1)
    return RerunPlan(prompt, model or data.get("model"), data["dataset_id"], version, scorers, definitions,
                     judge_model, trials, exp.id, notes)


async def rerun_experiment(
    workspace: Any,
    project: str,
    experiment: str,
    *,
    model: str | None = None,
    name: str | None = None,
    concurrency: int = 10,
    on_progress: Any = None,
    settings: Any = None,
    provider: Any = None,
    row_timeout_s: float | None = None,
    plan: RerunPlan | None = None,
) -> Any:
    """Re-run `experiment` (see the module doc) as a new experiment whose base is the original.

    `plan` is `plan_rerun`'s answer when the caller already asked for it (to show its notes first).
    """
    from loop_tui.evals.runner import run_experiment

    plan = plan or plan_rerun(workspace, project, experiment, model=model, settings=settings, provider=provider)
    original = workspace.object_by_id(plan.base).name
    if name is None:  # <original>-rerun, -rerun-2, …
        taken = {o.name for o in workspace.objects("experiment", workspace.project(project).id)}
        name = next(n for n in (f"{original}-rerun", *(f"{original}-rerun-{i}" for i in range(2, 10_000)))
                    if n not in taken)
    return await run_experiment(
        workspace,
        project,
        plan.prompt,
        plan.dataset,
        plan.scorers,
        model=plan.model,
        concurrency=concurrency,
        trials=plan.trials,
        name=name,
        base=plan.base,
        on_progress=on_progress,
        settings=settings,
        provider=provider,
        judge_model=plan.judge_model,
        row_timeout_s=row_timeout_s,
        description=f"re-run of {original}",
        metadata={"rerun_of": plan.base},
        dataset_version=plan.dataset_version,
        scorer_definitions=plan.scorer_definitions,
    )
