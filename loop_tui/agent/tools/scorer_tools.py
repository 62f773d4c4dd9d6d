"""Scorer tools: get_scorers, edit_scorers, create_code_scorer, create_llm_judge_scorer.

Creating a scorer tests it on a few real rows first, so the preview shows what it would score.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pydantic import Field

from loop_tui.agent.events import Preview
from loop_tui.agent.tools import lookup, overview
from loop_tui.agent.tools.base import Proposal, Tool, ToolArgs, ToolContext, ToolError, ToolOutput, to_json
from loop_tui.agent.tools.prompt_tools import unified_diff
from loop_tui.errors import NotFoundError, UserError

SCORER_PAGES = ("playground", "experiments", "logs", "datasets")
TEST_ROWS = 3


class GetScorers(Tool):
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


class EditScorers(Tool):
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


def sample_rows(ctx: ToolContext, n: int = TEST_ROWS) -> list[dict[str, Any]]:
    """A few rows with an output to test a scorer on: the page's experiment, the playground's last run,
    the newest experiment, else dataset rows (their expected value standing in for an output)."""
    from loop_tui.store.schema import row_to_braintrust

    ws = ctx.workspace
    experiment_id = ctx.page.experiment_id
    if not experiment_id and ctx.page.page == "playground":
        try:
            run = overview.last_run(ctx, lookup.playground(ctx).id)
            experiment_id = run.id if run else None
        except ToolError:
            experiment_id = None
    if not experiment_id:
        experiments = ws.objects("experiment", ctx.project().id)
        experiment_id = experiments[0].id if experiments else None
    if experiment_id:
        rows = ws.query(
            "SELECT * FROM experiment WHERE experiment_id = ? AND is_root AND output IS NOT NULL ORDER BY created, id LIMIT ?",
            [experiment_id, n],
        )
        if rows:
            return [row_to_braintrust("experiment", r) for r in rows]
    try:
        ds = lookup.dataset(ctx)
    except ToolError:
        return []
    rows = ws.query("SELECT * FROM dataset WHERE dataset_id = ? ORDER BY created, id LIMIT ?", [ds.id, n])
    converted = [row_to_braintrust("dataset", r) for r in rows]
    return [{**row, "output": row.get("expected")} for row in converted]


async def test_scorer(scorer: Any, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], float]:
    """Score each row; returns per-row results (score or error) and the model spend of the test."""
    results, spent = [], 0.0
    try:
        for row in rows:
            try:
                score = await scorer.eval_async(
                    output=row.get("output"), expected=row.get("expected"), input=row.get("input"),
                    metadata=row.get("metadata") or {},
                )
                spent += float((score.metrics or {}).get("estimated_cost") or 0.0)
                results.append({"row": row.get("id"), "score": score.score,
                                "metadata": lookup.shorten(score.metadata, 200) if score.metadata else None})
            except Exception as exc:  # a failing scorer is a finding to show, not a crash
                results.append({"row": row.get("id"), "error": lookup.shorten(str(exc) or type(exc).__name__, 300)})
    finally:
        close = getattr(scorer, "aclose", None)
        if close is not None:
            await close()
    return results, spent


def _existing(ctx: ToolContext, name: str) -> Any:
    try:
        return ctx.workspace.get_object("scorer", ctx.project().id, name)
    except NotFoundError:
        return None


def _scorer_proposal(ctx: ToolContext, name: str, data: dict[str, Any], tests: list[dict[str, Any]], body_key: str) -> Proposal:
    existing = _existing(ctx, name)
    before = existing.data if existing else {}

    def lines(d: dict[str, Any]) -> list[str]:
        head = [f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in sorted(d.items()) if k != body_key]
        return head + str(d.get(body_key) or "").splitlines()

    diff = unified_diff(lines(before), lines(data), f"scorer {name}")
    verb = "Update" if existing else "Create"
    test_text = "\n".join(
        f"  row {t['row']}: " + (f"score {t['score']}" if "error" not in t else f"error: {t['error']}") for t in tests
    ) or "  (no rows with an output to test on)"
    preview = Preview(kind="diff", title=f"{verb} scorer {name}", text=f"{diff}\n\nTested on {len(tests)} rows:\n{test_text}",
                      details={"tests": tests, "before": before, "after": data})
    project_id = ctx.project().id

    async def apply() -> ToolOutput:
        saved = ctx.workspace.save_object("scorer", project_id, name, data, id=existing.id if existing else None)
        return ToolOutput(to_json({"scorer": name, "saved": verb.lower() + "d", "undo_xact_ids": [saved.xact_id]}),
                          undo_xact=[saved.xact_id])

    return Proposal(preview, apply)


class CodeScorerArgs(ToolArgs):
    name: str = Field(description="Scorer name (an existing name updates that scorer).")
    code: str = Field(description="Python: def handler(input, output, expected, metadata) -> float in [0, 1] (or None).")
    description: str | None = Field(default=None, description="What it measures, one sentence.")


class CreateCodeScorer(Tool):
    """Create or update a Python code scorer (tested on a few rows first)."""

    name = "create_code_scorer"
    description = (
        "Create or update a code scorer: Python defining `def handler(input, output, expected, metadata)` that "
        "returns a score in [0, 1] (or None to skip). It runs sandboxed (no network, no API keys). It is tested "
        "on a few real rows before the user confirms, and the preview shows the scores it gave."
    )
    Args = CodeScorerArgs
    pages = SCORER_PAGES
    mutates = True

    async def propose(self, args: CodeScorerArgs, ctx: ToolContext) -> Proposal:
        from loop_tui.evals import CodeScorer

        try:
            scorer = CodeScorer(args.name, args.code, description=args.description or "")
        except UserError as err:
            raise ToolError(str(err)) from None
        rows = await asyncio.to_thread(sample_rows, ctx)
        tests, _ = await test_scorer(scorer, rows)
        data = {"type": "code", "description": args.description or "", "code": args.code}
        return _scorer_proposal(ctx, args.name, data, tests, "code")


class JudgeScorerArgs(ToolArgs):
    name: str = Field(description="Scorer name (an existing name updates that scorer).")
    prompt: str = Field(description="The judge's prompt with mustache variables {{input}}, {{output}}, {{expected}}; "
                        "end with the lettered choices.")
    choice_scores: dict[str, float] = Field(description="Each choice letter to its score in [0, 1], e.g. {'A': 1, 'B': 0}.")
    use_cot: bool = Field(default=True, description="Let the judge reason step by step before choosing.")
    model: str | None = Field(default=None, description="Judge model. Default: the settings' default model.")


class CreateLlmJudgeScorer(Tool):
    """Create or update an LLM-judge scorer (tested on a few rows first)."""

    name = "create_llm_judge_scorer"
    description = (
        "Create or update an LLM-judge scorer: a prompt the judge model answers by picking one of the choices, "
        "each mapped to a score. It is tested on a few real rows first (when a model is configured) and the "
        "user confirms it."
    )
    Args = JudgeScorerArgs
    pages = SCORER_PAGES
    mutates = True

    async def propose(self, args: JudgeScorerArgs, ctx: ToolContext) -> Proposal:
        from loop_tui.evals.mustache import render
        from loop_tui.evals.registry import scorer_from_object
        from loop_tui.llm import resolve_model

        if not args.choice_scores or any(not 0 <= v <= 1 for v in args.choice_scores.values()):
            raise ToolError("choice_scores needs at least one choice, each with a score between 0 and 1")
        data = {"type": "llm", "prompt": args.prompt, "choice_scores": args.choice_scores, "use_cot": args.use_cot}
        if args.model:
            data["model"] = args.model
        rows = await asyncio.to_thread(sample_rows, ctx)
        for row in rows:
            try:
                render(args.prompt, {"input": row.get("input"), "output": row.get("output"),
                                     "expected": row.get("expected"), "metadata": row.get("metadata") or {}})
            except UserError as err:
                raise ToolError(f"the prompt does not render on row {row.get('id')}: {err}") from None
        resolved = None
        try:
            if args.model:
                resolved = resolve_model(args.model, ctx.settings)
            elif ctx.settings.models.default or ctx.model != "offline":
                resolved = resolve_model(ctx.settings.models.default or ctx.model, ctx.settings)
        except UserError as err:
            if args.model:
                raise ToolError(str(err)) from None  # the model named a judge model that does not exist
        if resolved is None or resolved.provider == "offline" or not resolved.key_available():
            tests = [{"row": r.get("id"), "error": "not run: no language model is configured for the judge; "
                      "the prompt rendered on this row"} for r in rows]
        else:
            scorer = scorer_from_object(args.name, {**data, "model": resolved.name}, settings=ctx.settings)
            tests, spent = await test_scorer(scorer, rows)
            ctx.spend(spent)
        return _scorer_proposal(ctx, args.name, data, tests, "prompt")
