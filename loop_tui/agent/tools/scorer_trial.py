"""Trying a scorer on a few rows: its own tool, `test_scorer`, confirmed like a change.

Running a scorer means running code the model wrote (a code scorer) or sending rows to a model (an LLM
judge). Neither may happen before the user agrees, so creating a scorer never tries it; `test_scorer`
asks first ("run this code on 3 rows in the sandbox?") and only then scores. The rows come from the page
the user is on (logs, an experiment, a dataset, the playground's last run), or are the ones named in
`row_ids` (e.g. the rows a person labelled when tuning a scorer).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pydantic import Field

from loop_tui.agent.events import Preview
from loop_tui.agent.tools import lookup, overview
from loop_tui.agent.tools.base import Proposal, Tool, ToolArgs, ToolContext, ToolError, ToolOutput, to_json
from loop_tui.errors import NotFoundError, UserError

SCORER_PAGES = ("playground", "experiments", "logs", "datasets")
TEST_ROWS = 3
MAX_TEST_ROWS = 20
# The three tables a row id can come from, with the column naming the object the row belongs to.
_ROW_TABLES = (("experiment", "experiment_id"), ("project_logs", "project_id"), ("dataset", "dataset_id"))


def page_rows(ctx: ToolContext, n: int = TEST_ROWS) -> list[dict[str, Any]]:
    """A few rows with an output from the page's own source: the logs page's logs, the page's experiment,
    the page's dataset (its expected value standing in for an output), the playground's last run; else
    the newest experiment, else the logs."""
    ws, page = ctx.workspace, ctx.page
    project_id = ctx.project().id
    if page.page == "logs":
        return _query(ws, "project_logs", "project_id = ? AND is_root AND output IS NOT NULL", [project_id], n, newest=True)
    if page.page == "datasets" and page.dataset_id:
        return _dataset_rows(ws, page.dataset_id, n)
    experiment_id = page.experiment_id
    if not experiment_id and page.page == "playground":
        try:
            run = overview.last_run(ctx, lookup.playground(ctx).id)
            experiment_id = run.id if run else None
        except ToolError:
            experiment_id = None
        if not experiment_id:
            try:
                return _dataset_rows(ws, lookup.dataset(ctx).id, n)
            except ToolError:
                pass
    if not experiment_id:
        experiments = ws.objects("experiment", project_id)
        experiment_id = experiments[0].id if experiments else None
    if experiment_id:
        return _query(ws, "experiment", "experiment_id = ? AND is_root AND output IS NOT NULL", [experiment_id], n)
    return _query(ws, "project_logs", "project_id = ? AND is_root AND output IS NOT NULL", [project_id], n, newest=True)


def rows_by_id(ctx: ToolContext, row_ids: list[str]) -> list[dict[str, Any]]:
    """The project's rows with these ids (experiments, logs, then datasets), in the order given; a ToolError
    names the ids that are not in the project."""
    from loop_tui.store.schema import row_to_braintrust

    project_id = ctx.project().id
    found: dict[str, dict[str, Any]] = {}
    for table, _ in _ROW_TABLES:
        wanted = [i for i in row_ids if i not in found]
        if not wanted:
            break
        marks = ", ".join("?" for _ in wanted)
        for raw in ctx.workspace.query(
            f"SELECT * FROM {table} WHERE project_id = ? AND id IN ({marks}) ORDER BY created, id", [project_id, *wanted]
        ):
            row = row_to_braintrust(table, raw)
            if table == "dataset":
                row = {**row, "output": row.get("expected")}
            found.setdefault(row["id"], row)
    missing = [i for i in row_ids if i not in found]
    if missing:
        raise ToolError(f"no row with id {', '.join(missing[:5])} in project {ctx.project().name}; use ids from "
                        "get_detailed_results or btql_query")
    return [found[i] for i in row_ids]


def _query(ws: Any, table: str, where: str, params: list[Any], n: int, *, newest: bool = False) -> list[dict[str, Any]]:
    from loop_tui.store.schema import row_to_braintrust

    order = "created DESC, id" if newest else "created, id"
    rows = ws.query(f"SELECT * FROM {table} WHERE {where} ORDER BY {order} LIMIT ?", [*params, n])
    return [row_to_braintrust(table, r) for r in rows]


def _dataset_rows(ws: Any, dataset_id: str, n: int) -> list[dict[str, Any]]:
    rows = _query(ws, "dataset", "dataset_id = ?", [dataset_id], n)
    return [{**row, "output": row.get("expected")} for row in rows]


async def score_rows(scorer: Any, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], float]:
    """Score each row; returns per-row results (score or error) and the model spend."""
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


def render_check(prompt: str, rows: list[dict[str, Any]]) -> None:
    """Raise a ToolError unless the judge prompt renders on every row (local only: nothing is sent)."""
    from loop_tui.evals.mustache import render

    for row in rows:
        try:
            render(prompt, {"input": row.get("input"), "output": row.get("output"),
                            "expected": row.get("expected"), "metadata": row.get("metadata") or {}})
        except UserError as err:
            raise ToolError(f"the prompt does not render on row {row.get('id')}: {err}") from None


def judge_model(ctx: ToolContext, model: str | None) -> Any:
    """The model a judge would call (its own, else the settings' default, else Loop's): resolved, allowlist
    checked; a ToolError when none can be called."""
    from loop_tui.llm import resolve_model

    name = model or ctx.settings.models.default or ctx.model
    try:
        resolved = resolve_model(name, ctx.settings)
    except UserError as err:
        raise ToolError(str(err)) from None
    if resolved.provider == "offline":
        raise ToolError("no language model is configured for the judge, so it cannot be tried; pass `model`, or "
                        "create the judge without trying it")
    if not resolved.key_available():
        raise ToolError(f"the judge model {resolved.name} needs an API key in ${resolved.api_key_env}")
    return resolved


class ScorerTrialArgs(ToolArgs):
    name: str = Field(description="The scorer: a saved project scorer's name, or the name of the definition below.")
    code: str | None = Field(default=None, description="A code scorer's Python to try instead of the saved one.")
    prompt: str | None = Field(default=None, description="An LLM judge's prompt to try instead of the saved one "
                               "(with choice_scores).")
    choice_scores: dict[str, float] | None = Field(default=None, description="The judge's choices and scores.")
    use_cot: bool | None = Field(default=None, description="Let the judge reason first (default: saved, else true).")
    model: str | None = Field(default=None, description="Judge model (default: the saved one, else the settings').")
    row_ids: list[str] | None = Field(
        default=None, description="Ids of the rows to try it on (e.g. the rows the user labelled); default: "
        f"{TEST_ROWS} rows from the page (logs, the experiment, the dataset or the playground's last run).")


class ScorerTrial(Tool[ScorerTrialArgs]):
    """Try a scorer (saved, or a definition not yet saved) on a few rows, after the user agrees."""

    name = "test_scorer"
    description = (
        "Try a scorer on a few rows and see the scores it gives: a saved scorer by name, or a definition not "
        "saved yet (code, or prompt + choice_scores). Trying runs the code in the sandbox or sends the rows "
        "to the judge model, so the user confirms it first. `row_ids` picks the rows (e.g. labelled ones)."
    )
    Args = ScorerTrialArgs
    pages = SCORER_PAGES
    mutates = True  # changes nothing, but runs model-written code or sends rows out: it asks first

    async def propose(self, args: ScorerTrialArgs, ctx: ToolContext) -> Proposal:
        from loop_tui.evals.registry import scorer_from_object

        data = _definition(ctx, args)
        if args.row_ids is not None and not 1 <= len(args.row_ids) <= MAX_TEST_ROWS:
            raise ToolError(f"row_ids takes 1 to {MAX_TEST_ROWS} ids")
        rows = await asyncio.to_thread(rows_by_id, ctx, args.row_ids) if args.row_ids else \
            await asyncio.to_thread(page_rows, ctx)
        if not rows:
            raise ToolError("there are no rows with an output here to try the scorer on; name some with row_ids")
        resolved = None
        if data["type"] == "llm":
            render_check(data["prompt"], rows)
            resolved = judge_model(ctx, data.get("model"))
            data = {**data, "model": resolved.name}
        try:
            scorer = scorer_from_object(args.name, data, settings=ctx.settings)
        except UserError as err:
            raise ToolError(str(err)) from None
        preview = _trial_preview(args.name, data, rows, resolved)

        async def apply() -> ToolOutput:
            results, spent = await score_rows(scorer, rows)
            return ToolOutput(to_json({"scorer": args.name, "tried_on": len(rows), "results": results}), cost_usd=spent)

        return Proposal(preview, apply)


def _definition(ctx: ToolContext, args: ScorerTrialArgs) -> dict[str, Any]:
    """The scorer to try: the given definition over the saved one (if any)."""
    try:
        saved = dict(ctx.workspace.get_object("scorer", ctx.project().id, args.name).data)
    except NotFoundError:
        saved = {}
    if args.code is not None and args.prompt is not None:
        raise ToolError("give either code (a code scorer) or prompt (an LLM judge), not both")
    if args.code is not None:
        return {"type": "code", "code": args.code}
    if args.prompt is not None:
        choices = args.choice_scores or (saved.get("choice_scores") if saved.get("type") == "llm" else None)
        if not choices:
            raise ToolError("an LLM judge needs choice_scores, e.g. {'A': 1, 'B': 0}")
        base = saved if saved.get("type") == "llm" else {}
        data = {**base, "type": "llm", "prompt": args.prompt, "choice_scores": choices}
    elif saved:
        data = saved
    else:
        raise ToolError(f"no saved scorer named {args.name!r}; pass its code, or its prompt and choice_scores")
    if data.get("type") == "llm":
        if args.use_cot is not None:
            data["use_cot"] = args.use_cot
        if args.model:
            data["model"] = args.model
    return data


def _trial_preview(name: str, data: dict[str, Any], rows: list[dict[str, Any]], resolved: Any) -> Preview:
    if data["type"] == "code":
        title = f"Run the code of scorer {name} on {len(rows)} rows in the sandbox?"
        body = str(data.get("code") or "")
    else:
        title = f"Send {len(rows)} rows to {resolved.name} ({resolved.endpoint}) to try the judge {name}?"
        body = str(data.get("prompt") or "")
    listed = "\n".join(f"  row {r.get('id')}: input {json.dumps(lookup.shorten(r.get('input'), 80), ensure_ascii=False)}"
                       for r in rows)
    text = f"{body}\n\nRows:\n{listed}"
    return Preview(kind="call", title=title, text=text,
                   details={"scorer": name, "type": data["type"], "row_ids": [r.get("id") for r in rows],
                            "model": resolved.name if resolved else None})
