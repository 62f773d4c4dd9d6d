"""Finding the objects a tool works on (from its arguments, else the page) and compact row previews."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from loop_tui.agent.tools.base import ToolContext, ToolError
from loop_tui.errors import NotFoundError

if TYPE_CHECKING:
    from loop_tui.store import CatalogObject

PREVIEW_CHARS = 300


def find_object(ctx: ToolContext, kind: str, name_or_id: str | None, page_id: str | None) -> CatalogObject:
    """An object by the given name/id, else the page's, else the project's only one of that kind."""
    project = ctx.project()
    wanted = name_or_id or page_id
    if wanted:
        try:
            return ctx.workspace.get_object(kind, project.id, wanted)
        except NotFoundError as err:
            raise ToolError(str(err)) from None
    objects = ctx.workspace.objects(kind, project.id)
    if len(objects) == 1:
        return objects[0]
    names = ", ".join(o.name for o in objects) or "none"
    raise ToolError(f"no {kind} is open on this page; name one (project {project.name} has: {names})")


def playground(ctx: ToolContext) -> CatalogObject:
    """The page's playground (or the project's only one)."""
    found = playground_or_none(ctx)
    if found is None:
        raise ToolError(f"project {ctx.project().name} has no playground yet; {FIRST_PROMPT_HINT}")
    return found


def playground_or_none(ctx: ToolContext) -> CatalogObject | None:
    """The page's playground, the project's only one, or None when the project has none (the page then shows
    a new, empty task)."""
    if not ctx.page.playground_id and not ctx.workspace.objects("playground", ctx.project().id):
        return None
    return find_object(ctx, "playground", None, ctx.page.playground_id)


def playground_prompt(ctx: ToolContext, pg: CatalogObject) -> dict[str, Any]:
    """The playground's task prompt: its own copy, else the saved prompt it points at."""
    prompt = playground_prompt_or_none(ctx, pg)
    if prompt is None:
        raise ToolError(f"playground {pg.name!r} has no prompt yet; {FIRST_PROMPT_HINT}")
    return prompt


FIRST_PROMPT_HINT = (
    "create its first prompt with edit_prompt(messages=[...], model=...): it saves a new prompt (version 1) "
    "linked to the playground (and creates the playground when the project has none), after the user confirms"
)


def playground_prompt_or_none(ctx: ToolContext, pg: CatalogObject) -> dict[str, Any] | None:
    """The playground's task prompt, or None when the task has none yet (a new, empty playground)."""
    prompt = pg.data.get("prompt")
    if isinstance(prompt, dict) and prompt.get("messages"):
        return prompt
    prompt_id = pg.data.get("prompt_id")
    if prompt_id:
        try:
            return dict(ctx.workspace.object_by_id(prompt_id).data)
        except NotFoundError:  # the prompt was deleted: the task is empty again
            return None
    return None


def dataset(ctx: ToolContext, name_or_id: str | None = None) -> CatalogObject:
    """A dataset by name/id, else the page's, else the playground's."""
    page_id = ctx.page.dataset_id
    if not name_or_id and not page_id and ctx.page.page == "playground":
        page_id = playground(ctx).data.get("dataset_id")
    return find_object(ctx, "dataset", name_or_id, page_id)


def experiment(ctx: ToolContext, name_or_id: str | None = None) -> CatalogObject:
    """An experiment by name/id, else the page's, else the newest one."""
    if name_or_id or ctx.page.experiment_id:
        return find_object(ctx, "experiment", name_or_id, ctx.page.experiment_id)
    experiments = ctx.workspace.objects("experiment", ctx.project().id)
    if not experiments:
        raise ToolError(f"project {ctx.project().name} has no experiments yet")
    return experiments[0]


def shorten(value: Any, limit: int = PREVIEW_CHARS) -> Any:
    """A value cut for a preview: long strings and big objects become a truncated string."""
    if value is None or isinstance(value, bool | int | float):
        return value
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= limit:
        return value
    # Keep the end too: the last words of an answer, and above all a traceback's exception line.
    tail, marker = text[-(limit // 3):], f" … ({len(text)} chars) … "
    if "Traceback (most recent call last)" in text:
        from loop_tui.agent.tools.error_groups import error_text, exception_line

        tail, marker = exception_line(error_text(text))[: 2 * limit // 3], f" … ({len(text)} chars) …\n"
    return text[: limit - len(tail)] + marker + tail


def preview_row(row: dict[str, Any], fields: tuple[str, ...] | None = None, limit: int = PREVIEW_CHARS) -> dict[str, Any]:
    """A Braintrust-format row reduced to what a model needs to read it."""
    keep = fields or (
        "id", "created", "input", "output", "expected", "error", "scores", "metadata", "tags", "span_attributes",
    )
    out: dict[str, Any] = {}
    for key in keep:
        value = row.get(key)
        if value in (None, [], {}):
            continue
        out[key] = shorten(value, limit)
    metrics = row.get("metrics") or {}
    if metrics.get("start") is not None and metrics.get("end") is not None:
        out["duration_s"] = round(metrics["end"] - metrics["start"], 3)
    for key in ("tokens", "estimated_cost"):
        if metrics.get(key) is not None:
            out[key] = metrics[key]
    return out
