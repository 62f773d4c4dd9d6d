"""edit_prompt (a new version of the playground's task, previewed as a diff) and run_eval."""

from __future__ import annotations

import asyncio
import difflib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from loop_tui.agent.events import Preview
from loop_tui.agent.tools import lookup, overview
from loop_tui.agent.tools.base import Proposal, Tool, ToolArgs, ToolContext, ToolError, ToolOutput, to_json
from loop_tui.errors import UserError

if TYPE_CHECKING:
    from loop_tui.store import CatalogObject


class PromptMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str = Field(description="Text; mustache variables like {{input}}, {{input.question}}, {{metadata.x}}.")


class EditPromptArgs(ToolArgs):
    messages: list[PromptMessage] | None = Field(default=None, description="The full new message list. Omit to keep.")
    model: str | None = Field(default=None, description="Model name (allowlisted or provider/model). Omit to keep.")
    params: dict[str, Any] | None = Field(default=None, description="temperature, max_tokens, response_format… Omit to keep.")


def prompt_text(prompt: dict[str, Any]) -> list[str]:
    """A prompt as diffable lines: model, params, then each message."""
    lines = [f"model: {prompt.get('model')}", f"params: {json.dumps(prompt.get('params') or {}, sort_keys=True)}"]
    for msg in prompt.get("messages") or []:
        lines.append(f"[{msg.get('role')}]")
        lines.extend(str(msg.get("content", "")).splitlines() or [""])
    return lines


def unified_diff(before: list[str], after: list[str], name: str) -> str:
    """A unified diff between two line lists (`before` empty: the thing does not exist yet)."""
    old = f"{name} (current)" if before else f"{name} (does not exist yet)"
    return "\n".join(difflib.unified_diff(before, after, old, f"{name} (proposed)", lineterm=""))


class EditPrompt(Tool[EditPromptArgs]):
    """Propose a new version of the playground prompt."""

    name = "edit_prompt"
    description = (
        "Propose a new version of the playground's task prompt (messages, model and/or params). The user sees "
        "a diff and accepts or rejects it. Give the FULL message list when you change messages. Keep the "
        "mustache variables the dataset provides ({{input}}, {{input.field}}, {{expected}}, {{metadata.x}})."
    )
    Args = EditPromptArgs
    pages = ("playground",)
    mutates = True

    async def propose(self, args: EditPromptArgs, ctx: ToolContext) -> Proposal:
        from loop_tui.evals import PromptSpec

        pg = await asyncio.to_thread(lookup.playground_or_none, ctx)
        shown = None if pg is not None else await asyncio.to_thread(_shown_prompt, ctx)
        if pg is not None:
            existing = await asyncio.to_thread(lookup.playground_prompt_or_none, ctx, pg)
        else:
            existing = dict(shown.data) if shown is not None else None
        task = f"playground {pg.name!r}" if pg is not None else "the new task"
        if existing is None and args.messages is None:
            raise ToolError(
                f"{task} has no prompt yet; give the full `messages` (and a `model`) to create its first prompt"
            )
        current = existing or {}
        new = dict(current)
        if args.messages is not None:
            new["messages"] = [m.model_dump() for m in args.messages]
        if args.model is not None:
            from loop_tui.llm import resolve_model

            resolve_model(args.model, ctx.settings)  # an unknown model is an error the model can fix
            new["model"] = args.model
        if args.params is not None:
            new["params"] = args.params
        if existing is None:
            new.setdefault("model", ctx.settings.models.default)
        new.setdefault("template_format", "mustache")
        PromptSpec.from_dict(new)
        before = prompt_text(current) if existing is not None else []
        diff = unified_diff(before, prompt_text(new), f"playground {pg.name}" if pg is not None else "new task")
        if not diff:
            raise ToolError("the proposed prompt is identical to the current one")
        if pg is None:
            return await asyncio.to_thread(_first_task, ctx, shown, new, diff)
        if existing is None:
            return _first_prompt(ctx, pg, new, diff)
        preview = Preview(kind="diff", title=f"Edit the prompt of playground {pg.name}", text=diff,
                          details={"playground": pg.name, "before": current, "after": new})

        async def apply() -> ToolOutput:
            saved = ctx.workspace.save_object("playground", pg.project_id, pg.name, {**pg.data, "prompt": new}, id=pg.id)
            return ToolOutput(
                to_json({"saved": f"updated the prompt of playground {pg.name}", "undo_xact_ids": [saved.xact_id],
                         "next": "run_eval measures the change"}),
                undo_xact=[saved.xact_id],
            )

        return Proposal(preview, apply)


def _first_prompt(ctx: ToolContext, pg: CatalogObject, new: dict[str, Any], diff: str) -> Proposal:
    """Create an empty task's first prompt: a new prompt object (version 1) that the playground then points at."""
    name = _free_name(ctx, "prompt", pg.project_id, pg.name)
    preview = Preview(
        kind="diff", title=f"Create the first prompt of playground {pg.name} (new prompt {name}, version 1)",
        text=diff, details={"playground": pg.name, "new_prompt": name, "before": None, "after": new},
    )

    async def apply() -> ToolOutput:
        # Two writes, undone newest first: the link, then the prompt object itself.
        prompt = ctx.workspace.save_object("prompt", pg.project_id, name, new)
        linked = ctx.workspace.save_object(
            "playground", pg.project_id, pg.name, {**pg.data, "prompt_id": prompt.id, "prompt": new}, id=pg.id
        )
        xacts = [prompt.xact_id, linked.xact_id]
        return ToolOutput(
            to_json({"saved": f"new prompt {name} (version 1) for playground {pg.name}", "undo_xact_ids": xacts,
                     "next": "run_eval measures it"}),
            undo_xact=xacts,
        )

    return Proposal(preview, apply)


def _shown_prompt(ctx: ToolContext) -> CatalogObject | None:
    """The prompt a playground page shows when its project has no playground: the project's first prompt
    (the page and this tool must agree on what "the task" is)."""
    prompts = ctx.workspace.objects("prompt", ctx.project().id)
    return prompts[0] if prompts else None


def _first_task(ctx: ToolContext, shown: CatalogObject | None, new: dict[str, Any], diff: str) -> Proposal:
    """A project with no playground (a new task on the page): save the prompt (version 1 of a new prompt, or
    the next version of the one the page shows) and create the playground that runs it on the page's dataset."""
    project = ctx.project()
    pg_name = _free_name(ctx, "playground", project.id, f"{project.name}-task")
    prompt_name = shown.name if shown is not None else _free_name(ctx, "prompt", project.id, pg_name)
    version = len(ctx.workspace.object_versions(shown.id)) + 1 if shown is not None else 1
    dataset_id = ctx.page.dataset_id
    preview = Preview(
        kind="diff",
        title=f"Create the task: new playground {pg_name} with prompt {prompt_name}, version {version}",
        text=diff, details={"new_playground": pg_name, "prompt": prompt_name, "before": shown.data if shown else None,
                            "after": new},
    )

    async def apply() -> ToolOutput:
        # Two writes, undone newest first: the playground, then the prompt (its new version, or itself).
        prompt = ctx.workspace.save_object("prompt", project.id, prompt_name, new,
                                           id=shown.id if shown is not None else None)
        data: dict[str, Any] = {"prompt_id": prompt.id, "prompt": new}
        if dataset_id:
            data["dataset_id"] = dataset_id
        playground = ctx.workspace.save_object("playground", project.id, pg_name, data)
        xacts = [prompt.xact_id, playground.xact_id]
        return ToolOutput(
            to_json({"saved": f"new playground {pg_name} with prompt {prompt_name} (version {version})",
                     "undo_xact_ids": xacts, "next": "run_eval measures it"}),
            undo_xact=xacts,
        )

    return Proposal(preview, apply)


def _free_name(ctx: ToolContext, kind: str, project_id: str, wanted: str) -> str:
    """`wanted`, numbered when an object of that kind already has the name."""
    taken = {o.name for o in ctx.workspace.objects(kind, project_id)}
    name, n = wanted, 2
    while name in taken:
        name, n = f"{wanted}-{n}", n + 1
    return name


@dataclass(frozen=True)
class PlaygroundRun:
    """run_eval's artifact: the run of a playground's task, for that playground's page to show as its own."""

    playground_id: str
    result: Any  # the runner's ExperimentResult: its rows in dataset order, its experiment's id and name


class RunEvalArgs(ToolArgs):
    dataset: str | None = Field(default=None, description="Dataset name or id. Default: the playground's.")
    scorers: list[str] | None = Field(default=None, description="Scorer names. Default: the playground's.")
    model: str | None = Field(default=None, description="Model to run the task with. Default: the prompt's.")


class RunEval(Tool[RunEvalArgs]):
    """Run the playground's task over its dataset with its scorers."""

    name = "run_eval"
    description = (
        "Run the playground's prompt over its dataset with its scorers, recording a new experiment. Returns the "
        "summary: score means, and the diff against the previous run (improvements, regressions, confidence "
        "intervals). It costs model calls, so the user confirms it with an estimated cost."
    )
    Args = RunEvalArgs
    pages = ("playground",)
    mutates = True

    async def propose(self, args: RunEvalArgs, ctx: ToolContext) -> Proposal:
        from loop_tui.agent.tools.estimate import estimate_eval_cost
        from loop_tui.evals import PromptSpec

        pg = lookup.playground(ctx)
        prompt = lookup.playground_prompt(ctx, pg)
        ds = lookup.dataset(ctx, args.dataset or pg.data.get("dataset_id"))
        scorers = args.scorers if args.scorers is not None else list(pg.data.get("scorers") or [])
        model = args.model or prompt.get("model")
        if not model:
            raise ToolError("the prompt names no model; pass model=… or set one with edit_prompt")
        from loop_tui.llm import resolve_model

        resolve_model(model, ctx.settings)  # refused before the user is asked: unknown, or not allowlisted
        spec = PromptSpec.from_dict(prompt, name=pg.name)
        estimate = await asyncio.to_thread(estimate_eval_cost, ctx, spec, ds.id, scorers, model)
        left = ctx.budget_left()
        if left is not None and estimate.cost_usd is not None and estimate.cost_usd > left:
            raise ToolError(
                f"this eval would cost about ${estimate.cost_usd:.4f} but only ${left:.4f} of the conversation's "
                "budget (agent.budget_usd) is left"
            )
        previous = overview.last_run(ctx, pg.id)
        base_text = f"{previous.name} (this playground's last run)" if previous else ""
        if previous is None:  # a first run compares with the newest experiment on the dataset, as run_experiment would
            from loop_tui.evals.experiments import default_base

            base_id = await asyncio.to_thread(default_base, ctx.workspace, ds.project_id, ds.id)
            previous = ctx.workspace.object_by_id(base_id) if base_id else None
            base_text = (f"{previous.name} (the newest experiment on dataset {ds.name}; this playground's first run)"
                         if previous else f"nothing (no experiment on dataset {ds.name} yet)")
        cost_text = f"${estimate.cost_usd:.4f}" if estimate.cost_usd is not None else "unknown (no prices for this model)"
        details = {
            "playground": pg.name, "dataset": ds.name, "rows": estimate.rows, "scorers": scorers, "model": model,
            "estimated_cost_usd": estimate.cost_usd, "model_calls": estimate.calls,
            "base_experiment": previous.name if previous else None,
        }
        text = "\n".join([
            f"Run playground {pg.name} with {model}", f"dataset: {ds.name} ({estimate.rows} rows)",
            f"scorers: {', '.join(scorers) or 'none'}", f"model calls: about {estimate.calls}",
            f"estimated cost: {cost_text}", f"compare with: {base_text}",
        ])
        preview = Preview(kind="eval", title=f"Run an eval of {pg.name} on {ds.name}", text=text, details=details)

        async def apply() -> ToolOutput:
            from loop_tui.evals import EvalSpec, run_eval

            project = ctx.project()
            try:
                result = await run_eval(ctx.workspace, EvalSpec(
                    project.id, spec, ds.id, list(scorers), model=model, settings=ctx.settings,
                    base=previous.id if previous else None, metadata={"playground_id": pg.id, "source": "loop"},
                    description=f"run by Loop from playground {pg.name}",
                ))
            except UserError as err:
                raise ToolError(str(err)) from None
            summary = await asyncio.to_thread(_summary, ctx, result.experiment_id, result.base_id)
            summary.update(rows=len(result.rows), errors=result.errors, cost_usd=round(result.total_cost, 6))
            return ToolOutput(to_json(summary), cost_usd=result.total_cost, artifact=PlaygroundRun(pg.id, result))

        return Proposal(preview, apply)


def _summary(ctx: ToolContext, experiment_id: str, base_id: str | None) -> dict[str, Any]:
    from loop_tui.agent.tools.results import experiment_summary

    return experiment_summary(ctx, experiment_id, base_id)
