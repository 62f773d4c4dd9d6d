"""edit_data: add, update and delete dataset rows, previewed row by row and undoable."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import Field, model_validator

from loop_tui.agent.events import Preview
from loop_tui.agent.tools import lookup
from loop_tui.agent.tools.base import Proposal, Tool, ToolArgs, ToolContext, ToolError, ToolOutput, to_json
from loop_tui.errors import ConflictError

ROW_FIELDS = ("input", "expected", "metadata", "tags")


class Operation(ToolArgs):
    op: Literal["add", "update", "delete"] = Field(description="add a new row, update an existing one, or delete one.")
    id: str | None = Field(default=None, description="The row id (required for update and delete).")
    input: Any = Field(default=None, description="The row's input (any JSON).")
    expected: Any = Field(default=None, description="The expected output (any JSON).")
    metadata: dict[str, Any] | None = Field(default=None, description="Metadata object.")
    tags: list[str] | None = Field(default=None, description="Tags.")

    @model_validator(mode="after")
    def _check(self) -> Operation:
        if self.op in ("update", "delete") and not self.id:
            raise ValueError(f"{self.op} needs the id of an existing row")
        if self.op == "add" and self.input is None and self.expected is None:
            raise ValueError("add needs an input or an expected value")
        if self.op == "update" and not (self.model_fields_set & set(ROW_FIELDS)):
            raise ValueError("update needs at least one of input, expected, metadata, tags")
        return self

    def given(self) -> dict[str, Any]:
        """The row fields this operation sets."""
        return {f: getattr(self, f) for f in ROW_FIELDS if f in self.model_fields_set}


class EditDataArgs(ToolArgs):
    dataset: str | None = Field(
        default=None,
        description="Dataset name or id. Default: the page's dataset. A name no dataset has yet creates that "
        "dataset with the added rows.",
    )
    operations: list[Operation] = Field(min_length=1, max_length=500, description="The row changes, applied together.")


class EditData(Tool[EditDataArgs]):
    """Change dataset rows (after the user confirms)."""

    name = "edit_data"
    description = (
        "Add, update or delete rows of a dataset in one change the user confirms (they see every row) and can "
        "undo. Use it to generate rows, reshape rows, or add rows taken from logs (copy their input, and their "
        "output as expected when it is right). Updates replace only the fields given. To create a dataset, give "
        "a new name and only `add` operations (from a playground without a dataset, the new one becomes its "
        "dataset)."
    )
    Args = EditDataArgs
    pages = ("datasets", "playground", "logs", "experiments")
    mutates = True

    async def propose(self, args: EditDataArgs, ctx: ToolContext) -> Proposal:
        if args.dataset and not await asyncio.to_thread(_dataset_exists, ctx, args.dataset):
            return await asyncio.to_thread(_new_dataset, ctx, args.dataset.strip(), args.operations)
        try:
            ds = lookup.dataset(ctx, args.dataset)
        except ToolError as err:
            raise ToolError(f"{err}; or give a new dataset name to create one with the added rows") from None
        project_id = ds.project_id
        ids = [op.id for op in args.operations if op.id]
        current = await asyncio.to_thread(ctx.workspace.current_rows, "dataset", ds.id, ids)
        upserts: list[dict[str, Any]] = []
        deletes: list[str] = []
        preview_rows: list[dict[str, Any]] = []
        for n, op in enumerate(args.operations, 1):
            before = current.get(op.id or "")
            if op.op == "add":
                if before is not None:
                    raise ToolError(f"operation {n}: a row with id {op.id!r} already exists; use update")
                row = {k: v for k, v in op.given().items() if v is not None}
                if op.id:
                    row["id"] = op.id
                upserts.append(row)
                preview_rows.append({"op": "add", **row})
                continue
            if before is None:
                raise ToolError(f"operation {n}: dataset {ds.name!r} has no row with id {op.id!r}")
            if op.op == "update":
                merged = {k: before.get(k) for k in ("id", "created", *ROW_FIELDS)} | op.given()
                upserts.append(merged)
                preview_rows.append({"op": "update", "id": op.id, "before": _fields(before), "after": _fields(merged)})
            else:
                deletes.append(str(op.id))
                preview_rows.append({"op": "delete", "id": op.id, "before": _fields(before)})
        versions = {i: current[i].get("_xact_id") for i in ids if i in current}
        preview = Preview(
            kind="rows",
            title=f"Edit dataset {ds.name}: {_counts(args.operations)}",
            text=_render(preview_rows),
            rows=preview_rows,
            details={"dataset": ds.name, "dataset_id": ds.id},
        )

        async def apply() -> ToolOutput:
            # Synchronous on purpose: once started, cancellation cannot split the write.
            return _apply(ctx, ds.id, ds.name, project_id, upserts, deletes, versions, _counts(args.operations))

        return Proposal(preview, apply)


def _dataset_exists(ctx: ToolContext, name_or_id: str) -> bool:
    project = ctx.project()
    return any(name_or_id in (d.id, d.name) for d in ctx.workspace.objects("dataset", project.id))


def _new_dataset(ctx: ToolContext, name: str, operations: list[Operation]) -> Proposal:
    """Propose creating dataset `name` with the added rows (and, from a playground without one, linking it)."""
    project = ctx.project()
    not_adds = [n for n, op in enumerate(operations, 1) if op.op != "add"]
    if not_adds:
        raise ToolError(
            f"dataset {name!r} does not exist yet, so operation {not_adds[0]} has no row to "
            f"{operations[not_adds[0] - 1].op}; a new dataset takes only `add` operations (or name an existing "
            "dataset)"
        )
    rows = []
    for op in operations:
        row = {k: v for k, v in op.given().items() if v is not None}
        if op.id:
            row["id"] = op.id
        rows.append(row)
    playground = _playground_to_link(ctx)
    link = f"; playground {playground.name} will use it" if playground is not None else ""
    preview_rows = [{"op": "add", **row} for row in rows]
    preview = Preview(
        kind="rows",
        title=f"Create a new dataset {name} in project {project.name}: {_counts(operations)}{link}",
        text=_render(preview_rows),
        rows=preview_rows,
        details={"dataset": name, "new_dataset": True, "playground": playground.name if playground else None},
    )

    async def apply() -> ToolOutput:
        return _create(ctx, project.id, name, rows, playground, _counts(operations))

    return Proposal(preview, apply)


def _playground_to_link(ctx: ToolContext) -> Any:
    """The page's playground when it has no dataset yet (a new dataset becomes its dataset), else None."""
    if ctx.page.page != "playground":
        return None
    try:
        pg = lookup.playground(ctx)
    except ToolError:
        return None
    return None if pg.data.get("dataset_id") else pg


def _create(
    ctx: ToolContext, project_id: str, name: str, rows: list[dict[str, Any]], playground: Any, summary: str,
) -> ToolOutput:
    ws = ctx.workspace
    # Undone newest first: the playground's link, the rows, then the dataset object itself.
    created = ws.save_object("dataset", project_id, name, {"description": "created by Loop", "metadata": {}})
    xacts = [created.xact_id]
    xacts.append(ws.apply_changes("dataset", created.id, upserts=rows, project_id=project_id,
                                  description=f"Loop edit_data: new dataset {name}, {summary}"))
    linked = None
    if playground is not None:
        pg = ws.object_by_id(playground.id)
        saved = ws.save_object("playground", project_id, pg.name, {**pg.data, "dataset_id": created.id}, id=pg.id)
        xacts.append(saved.xact_id)
        linked = pg.name
    return ToolOutput(
        to_json({"dataset": name, "created": True, "applied": summary, "linked_to_playground": linked,
                 "undo_xact_ids": xacts, "note": "the user can undo this edit"}),
        undo_xact=xacts,
    )


def _apply(
    ctx: ToolContext, dataset_id: str, name: str, project_id: str, upserts: list[dict[str, Any]],
    deletes: list[str], versions: dict[str, Any], summary: str,
) -> ToolOutput:
    ws = ctx.workspace
    description = f"Loop edit_data: {summary}"
    # One store transaction: the optimistic version check and the write happen under the writer
    # lock, and the whole edit is one undo step.
    try:
        xact = ws.apply_changes("dataset", dataset_id, upserts=upserts, deletes=deletes, project_id=project_id,
                                description=description, expected_versions=versions)
    except ConflictError as exc:
        raise ToolError(f"{exc}; propose the edit again") from None
    xacts = [xact]
    return ToolOutput(
        to_json({"dataset": name, "applied": summary, "undo_xact_ids": xacts, "note": "the user can undo this edit"}),
        undo_xact=xacts,
    )


def _fields(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row.get(k) for k in ROW_FIELDS if row.get(k) not in (None, [], {})}


def _counts(operations: list[Operation]) -> str:
    parts = []
    for op in ("add", "update", "delete"):
        n = sum(1 for o in operations if o.op == op)
        if n:
            parts.append(f"{op} {n} row{'s' if n != 1 else ''}")
    return ", ".join(parts)


def _render(rows: list[dict[str, Any]]) -> str:
    lines = []
    for row in rows:
        op = row["op"]
        if op == "add":
            lines.append("+ add    " + to_json({k: v for k, v in row.items() if k != "op"}))
        elif op == "update":
            lines.append(f"~ update {row['id']}")
            lines.append("    before " + to_json(row["before"]))
            lines.append("    after  " + to_json(row["after"]))
        else:
            lines.append(f"- delete {row['id']} " + to_json(row["before"]))
    return "\n".join(lines)
