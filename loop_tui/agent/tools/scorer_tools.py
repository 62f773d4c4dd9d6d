"""Scorer tools: get_scorers, edit_scorers, create_code_scorer, create_llm_judge_scorer.

Creating a scorer never runs it: its code is model-written and a judge would send rows to a model, and
neither may happen before the user agrees. Trying a scorer is its own confirmed step (`test_scorer`, in
scorer_trial.py). Editing a saved scorer keeps what the call does not change (description, pinned model).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pydantic import Field

from loop_tui.agent.events import Preview
from loop_tui.agent.tools import lookup
from loop_tui.agent.tools.base import (
    NoArgs,
    Proposal,
    Tool,
    ToolArgs,
    ToolContext,
    ToolError,
    ToolOutput,
    to_json,
)
from loop_tui.agent.tools.prompt_tools import unified_diff
from loop_tui.agent.tools.scorer_trial import SCORER_PAGES, page_rows, render_check
from loop_tui.errors import NotFoundError, UserError

NOT_RUN = "Not run: nothing runs before you agree. Loop can try it on a few rows (test_scorer) as its own step."


class GetScorers(Tool[NoArgs]):
    """List the scorers available and the ones the playground uses."""

    name = "get_scorers"
    description = (
        "List scorers: the built-ins (heuristics like ExactMatch, Levenshtein, JSONDiff; LLM judges like "
        "Factuality, ClosedQA), the project's own LLM-judge and code scorers with their definitions, and the "
        "scorers the playground currently uses."
    )
    pages = SCORER_PAGES

    async def run(self, args: object, ctx: ToolContext) -> str:
        return to_json(await asyncio.to_thread(_list_scorers, ctx))


def _list_scorers(ctx: ToolContext) -> dict[str, Any]:
    from loop_tui.evals.registry import builtin_names, is_llm_judge

    project = ctx.project()
    saved = []
    for obj in ctx.workspace.objects("scorer", project.id):
        entry = {"name": obj.name, "type": obj.data.get("type"), "description": obj.data.get("description")}
        for key in ("prompt", "choice_scores", "use_cot", "model", "code"):
            if obj.data.get(key) is not None:
                entry[key] = lookup.shorten(obj.data[key], 600)
        saved.append(entry)
    out: dict[str, Any] = {
        "builtin": [{"name": n, "type": "llm" if is_llm_judge(n) else "heuristic"} for n in builtin_names()],
        "project": saved,
    }
    if ctx.page.page == "playground":
        try:
            out["playground_uses"] = lookup.playground(ctx).data.get("scorers") or []
        except ToolError:
            pass
    return out


class EditScorersArgs(ToolArgs):
    scorers: list[str] = Field(description="The full list of scorer names the playground should use.")


class EditScorers(Tool[EditScorersArgs]):
    """Choose which scorers the playground uses."""

    name = "edit_scorers"
    description = (
        "Set which scorers the playground uses (the full list of names: built-ins or the project's scorers). "
        "The user confirms the change."
    )
    Args = EditScorersArgs
    pages = ("playground",)
    mutates = True

    async def propose(self, args: EditScorersArgs, ctx: ToolContext) -> Proposal:
        from loop_tui.evals import resolve_scorer

        pg = lookup.playground(ctx)
        for name in args.scorers:
            try:
                resolve_scorer(name, ctx.workspace, pg.project_id, settings=ctx.settings)
            except UserError as err:
                raise ToolError(str(err)) from None
        current = list(pg.data.get("scorers") or [])
        if current == args.scorers:
            raise ToolError("the playground already uses exactly these scorers")
        diff = unified_diff(current, list(args.scorers), f"playground {pg.name} scorers")
        preview = Preview(kind="diff", title=f"Change the scorers of playground {pg.name}", text=diff,
                          details={"before": current, "after": args.scorers})

        async def apply() -> ToolOutput:
            saved = ctx.workspace.save_object("playground", pg.project_id, pg.name,
                                              {**pg.data, "scorers": list(args.scorers)}, id=pg.id)
            return ToolOutput(to_json({"playground": pg.name, "scorers": args.scorers, "undo_xact_ids": [saved.xact_id]}),
                              undo_xact=[saved.xact_id])

        return Proposal(preview, apply)


def _existing(ctx: ToolContext, name: str) -> Any:
    try:
        return ctx.workspace.get_object("scorer", ctx.project().id, name)
    except NotFoundError:
        return None


def _scorer_proposal(ctx: ToolContext, name: str, data: dict[str, Any], body_key: str) -> Proposal:
    existing = _existing(ctx, name)
    before = existing.data if existing else {}

    def lines(d: dict[str, Any]) -> list[str]:
        head = [f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in sorted(d.items()) if k != body_key]
        return head + str(d.get(body_key) or "").splitlines()

    diff = unified_diff(lines(before), lines(data), f"scorer {name}")
    verb = "Update" if existing else "Create"
    preview = Preview(kind="diff", title=f"{verb} scorer {name}", text=f"{diff}\n\n{NOT_RUN}",
                      details={"before": before, "after": data})
    project_id = ctx.project().id

    async def apply() -> ToolOutput:
        saved = ctx.workspace.save_object("scorer", project_id, name, data, id=existing.id if existing else None)
        return ToolOutput(to_json({"scorer": name, "saved": verb.lower() + "d", "undo_xact_ids": [saved.xact_id]}),
                          undo_xact=[saved.xact_id])

    return Proposal(preview, apply)


def _kept(ctx: ToolContext, name: str, kind: str) -> dict[str, Any]:
    """What an update keeps of a saved scorer of the same type (description, model, temperature…)."""
    existing = _existing(ctx, name)
    return dict(existing.data) if existing is not None and existing.data.get("type") == kind else {}


class CodeScorerArgs(ToolArgs):
    name: str = Field(description="Scorer name (an existing name updates that scorer).")
    code: str = Field(description="Python: def handler(input, output, expected, metadata) -> float in [0, 1] (or None).")
    description: str | None = Field(default=None, description="What it measures, one sentence (omit to keep).")


class CreateCodeScorer(Tool[CodeScorerArgs]):
    """Create or update a Python code scorer (checked, not run)."""

    name = "create_code_scorer"
    description = (
        "Create or update a code scorer: Python defining `def handler(input, output, expected, metadata)` that "
        "returns a score in [0, 1] (or None to skip). It runs sandboxed (no network, no API keys) in evals. "
        "Creating it does not run it; to see its scores on a few rows first, call test_scorer with the code."
    )
    Args = CodeScorerArgs
    pages = SCORER_PAGES
    mutates = True

    async def propose(self, args: CodeScorerArgs, ctx: ToolContext) -> Proposal:
        from loop_tui.evals import CodeScorer

        try:
            CodeScorer(args.name, args.code, description=args.description or "")  # compiles only, runs nothing
        except UserError as err:
            raise ToolError(str(err)) from None
        kept = await asyncio.to_thread(_kept, ctx, args.name, "code")
        data = {**kept, "type": "code", "description": args.description if args.description is not None
                else kept.get("description", ""), "code": args.code}
        return _scorer_proposal(ctx, args.name, data, "code")


class JudgeScorerArgs(ToolArgs):
    name: str = Field(description="Scorer name (an existing name updates that scorer).")
    prompt: str = Field(description="The judge's prompt with mustache variables {{input}}, {{output}}, {{expected}}; "
                        "end with the lettered choices.")
    choice_scores: dict[str, float] = Field(description="Each choice letter to its score in [0, 1], e.g. {'A': 1, 'B': 0}.")
    use_cot: bool | None = Field(default=None, description="Let the judge reason step by step before choosing "
                                 "(default: keep, else true).")
    model: str | None = Field(default=None, description="Judge model (omit to keep the pinned one; none: the "
                              "settings' default model).")
    description: str | None = Field(default=None, description="What it judges, one sentence (omit to keep).")


class CreateLlmJudgeScorer(Tool[JudgeScorerArgs]):
    """Create or update an LLM-judge scorer (its prompt checked on a few rows locally, nothing sent)."""

    name = "create_llm_judge_scorer"
    description = (
        "Create or update an LLM-judge scorer: a prompt the judge model answers by picking one of the choices, "
        "each mapped to a score. Its prompt is checked to render on a few rows; nothing is sent to a model. To "
        "see its scores first, call test_scorer with the prompt. The user confirms it."
    )
    Args = JudgeScorerArgs
    pages = SCORER_PAGES
    mutates = True

    async def propose(self, args: JudgeScorerArgs, ctx: ToolContext) -> Proposal:
        from loop_tui.llm import resolve_model

        if not args.choice_scores or any(not 0 <= v <= 1 for v in args.choice_scores.values()):
            raise ToolError("choice_scores needs at least one choice, each with a score between 0 and 1")
        if args.model:
            try:
                resolve_model(args.model, ctx.settings)  # unknown or not allowlisted: the model can fix it
            except UserError as err:
                raise ToolError(str(err)) from None
        kept = await asyncio.to_thread(_kept, ctx, args.name, "llm")
        data = {**kept, "type": "llm", "prompt": args.prompt, "choice_scores": args.choice_scores,
                "use_cot": args.use_cot if args.use_cot is not None else kept.get("use_cot", True)}
        if args.model:
            data["model"] = args.model
        if args.description is not None:
            data["description"] = args.description
        rows = await asyncio.to_thread(page_rows, ctx)
        render_check(args.prompt, rows)  # rendering is local: no row leaves the machine
        return _scorer_proposal(ctx, args.name, data, "prompt")
