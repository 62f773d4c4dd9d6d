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
    dataset: str | None = Field(default=None, description="Dataset name or id. Default: the page's dataset.")
    operations: list[Operation] = Field(min_length=1, max_length=500, description="The row changes, applied together.")


class EditData(Tool):
    """Change dataset rows (after the user confirms)."""

    name = "edit_data"
    description = (
        "Add, update or delete rows of a dataset in one change the user confirms (they see every row) and can "
        "undo. Use it to generate rows, reshape rows, or add rows taken from logs (copy their input, and their "
        "output as expected when it is right). Updates replace only the fields given."
    )
    Args = EditDataArgs
    pages = ("datasets", "playground", "logs", "experiments")
    mutates = True

    async def propose(self, args: EditDataArgs, ctx: ToolContext) -> Proposal:
        ds = lookup.dataset(ctx, args.dataset)
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
