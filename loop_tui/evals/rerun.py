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
from typing import TYPE_CHECKING, Any, TypeGuard

from loop_tui.errors import NotFoundError, UserError

if TYPE_CHECKING:
    from collections.abc import Callable

    from loop_tui.config import Settings
    from loop_tui.evals.runner import ExperimentResult
    from loop_tui.evals.schedule import Progress
    from loop_tui.evals.scorers.llm_judge import LLMClassifier
    from loop_tui.llm.base import Provider
    from loop_tui.store import Workspace


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
    base_name: str
    notes: list[str] = field(default_factory=list)
    timeout_s: float | None = None


def plan_rerun(
    workspace: Any, project: str, experiment: str, *, model: str | None = None, judge_model: str | None = None,
    settings: Any = None, provider: Any = None,
) -> RerunPlan:
    """Read what `experiment` ran with; `model` (the task's) and `judge_model` replace what they name, and
    everything else stays pinned."""
    from loop_tui.evals.prompt import PromptSpec

    proj = workspace.project(project)
    exp = workspace.get_object("experiment", proj.id, experiment)
    data = exp.data
    if not data.get("dataset_id"):
        raise UserError(f"experiment {exp.name!r} ran on rows given in code, not a dataset; there is nothing to re-run")
    try:
        workspace.get_object("dataset", proj.id, data["dataset_id"])
    except NotFoundError:
        named = (data.get("metadata") or {}).get("dataset_name") or data["dataset_id"]
        raise UserError(f"experiment {exp.name!r} ran on the dataset {named!r}, which was deleted; it cannot be "
                        "re-run (undo the deletion with `loop-tui history --undo XACT` first)") from None
    if not isinstance(data.get("prompt"), dict) or not data["prompt"].get("messages"):
        raise UserError(f"experiment {exp.name!r} did not record its prompt; it cannot be re-run")
    prompt_data = data["prompt"]
    prompt = PromptSpec.from_dict(prompt_data, name=prompt_data.get("name"), id=prompt_data.get("id"))
    notes: list[str] = []
    version = data.get("dataset_version")
    if version is None:
        notes.append("it did not record its dataset version: the dataset is used as it is now")
    pinned = "scorer_definitions" in data  # recorded by a version that pins scorers and the judge model
    # Judges keep the model they used (the run's model unless one was named), even when `model` changes.
    judges = judge_model or data.get("judge_model") or data.get("model")
    judge_provider = provider if judge_model is None and data.get("judge_model") is None else None
    definitions = dict(data.get("scorer_definitions") or {})
    scorers = [
        _scorer(workspace, proj.id, exp.name, name, definitions, pinned, notes, judges, judge_provider, settings)
        for name in data.get("scorers") or []
    ]
    if not pinned and judge_model is None and any(_is_judge(s) for s in scorers):
        notes.append(f"it did not record its judge model: LLM judges use {judges}, the run's model")
    recorded = data.get("metadata") or {}
    return RerunPlan(prompt, model or data.get("model"), data["dataset_id"], version, scorers, definitions,
                     judges, int(recorded.get("trials") or 1), exp.id, exp.name, notes, recorded.get("timeout_s"))


def _scorer(
    workspace: Any, project_id: str, experiment: str, name: str, definitions: dict[str, Any], pinned: bool,
    notes: list[str], judge_model: str | None, provider: Any, settings: Any,
) -> Any:
    """One recorded scorer as it was; `definitions` gains the definitions of scorers read as they are now."""
    from loop_tui.evals.registry import resolve_scorer, saved_scorer, scorer_from_object

    if name in definitions:  # the project's scorer as it was, even if it was edited or deleted since
        scorer = scorer_from_object(name, definitions[name], settings=settings, provider=provider)
        if _is_judge(scorer) and scorer.model is None:
            scorer.model = judge_model
        return scorer
    if pinned:  # a name the run recorded without a definition is a built-in, or a function given in code
        try:
            return resolve_scorer(name, settings=settings, judge_model=judge_model, provider=provider)
        except UserError:
            raise UserError(
                f"experiment {experiment!r} was scored by {name!r}, a scorer given in code rather than saved in "
                "the project, so it cannot be re-run from here"
            ) from None
    saved = saved_scorer(workspace, project_id, name)
    try:
        scorer = resolve_scorer(name, workspace, project_id, settings=settings, judge_model=judge_model,
                                provider=provider)
    except UserError:
        raise UserError(
            f"experiment {experiment!r} was scored by {name!r}, which is neither built in nor saved in the project "
            "now, so it cannot be re-run exactly"
        ) from None
    if saved is not None:  # pinned from here on, so a re-run of this re-run uses the same definition
        definitions[name] = saved.data
        notes.append(f"scorer {name!r} is used as it is now (the experiment did not record its definition)")
    return scorer


def _is_judge(scorer: Any) -> TypeGuard[LLMClassifier]:
    from loop_tui.evals.scorers import LLMClassifier

    return isinstance(scorer, LLMClassifier)


async def rerun_experiment(
    workspace: Workspace,
    project: str,
    experiment: str,
    *,
    model: str | None = None,
    judge_model: str | None = None,
    name: str | None = None,
    concurrency: int = 10,
    on_progress: Callable[[Progress], Any] | None = None,
    settings: Settings | None = None,
    provider: Provider | None = None,
    row_timeout_s: float | None = None,
    plan: RerunPlan | None = None,
) -> ExperimentResult:
    """Re-run `experiment` (see the module doc) as a new experiment whose base is the original.

    `plan` is `plan_rerun`'s answer when the caller already asked for it (to show its notes first).
    """
    from loop_tui.evals.runner import run_eval
    from loop_tui.evals.spec import EvalSpec

    plan = plan or plan_rerun(workspace, project, experiment, model=model, judge_model=judge_model,
                              settings=settings, provider=provider)
    original = plan.base_name
    if name is None:  # <original>-rerun, -rerun-2, …
        taken = {o.name for o in workspace.objects("experiment", workspace.project(project).id)}
        name = next(n for n in (f"{original}-rerun", *(f"{original}-rerun-{i}" for i in range(2, 10_000)))
                    if n not in taken)
    spec = EvalSpec(
        project,
        plan.prompt,
        plan.dataset,
        list(plan.scorers),
        model=plan.model,
        concurrency=concurrency,
        trials=plan.trials,
        name=name,
        base=plan.base,
        settings=settings,
        provider=provider,
        judge_model=plan.judge_model,
        row_timeout_s=row_timeout_s if row_timeout_s is not None else plan.timeout_s,
        description=f"re-run of {original}",
        metadata={"rerun_of": plan.base},
        dataset_version=plan.dataset_version,
        scorer_definitions=plan.scorer_definitions,
    )
    return await run_eval(workspace, spec, on_progress=on_progress)
