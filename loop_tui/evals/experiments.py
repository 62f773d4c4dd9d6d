"""Experiment bookkeeping in the workspace: targets (project, dataset rows, base), names, listing."""

from __future__ import annotations

import hashlib
import os
import socket
from dataclasses import dataclass, field
from typing import Any

from loop_tui import clock
from loop_tui.errors import ConflictError, NotFoundError, UserError
from loop_tui.evals.rows import decode_json


@dataclass
class ExperimentTarget:
    """Where a run writes and what it reads."""

    project_id: str
    name: str
    rows: list[dict[str, Any]]
    dataset_id: str | None = None
    dataset_name: str | None = None
    base_id: str | None = None
    dataset_version: int | None = None  # the dataset as of this write (its newest `_xact_id` then)
    experiment_id: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def dataset_version(workspace: Any, dataset_id: str) -> int | None:
    """The dataset's version: the id of the last write that changed it (None while it has no rows)."""
    found = workspace.query("SELECT max(_xact_id) AS v FROM dataset_history WHERE dataset_id = ?", [dataset_id])
    return int(found[0]["v"]) if found and found[0]["v"] is not None else None


def dataset_rows(workspace: Any, dataset_id: str, as_of: int | None = None) -> list[dict[str, Any]]:
    """A dataset's rows as Braintrust-format dicts (oldest first); with `as_of`, as they were at that version."""
    rows = []
    for record in workspace.read_rows("dataset", dataset_id, as_of=as_of).to_pylist():
        rows.append(
            {
                "id": record["id"],
                "input": decode_json(record.get("input")),
                "expected": decode_json(record.get("expected")),
                "metadata": decode_json(record.get("metadata")) or {},
                "tags": record.get("tags") or [],
            }
        )
    return rows


def _check_rows(rows: list[Any]) -> list[dict[str, Any]]:
    out = []
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict) or "input" not in row:
            raise UserError(f"dataset row {n} needs an `input` field")
        out.append(row)
    return out


def auto_name(workspace: Any, project_id: str, stem: str | None) -> str:
    """A fresh experiment name like Braintrust's `<stem>-<timestamp>`, made unique with a suffix."""
    stem = (stem or "eval").strip().replace(" ", "-") or "eval"
    base = f"{stem}-{clock.now():%Y%m%d-%H%M%S}"
    taken = {o.name for o in workspace.objects("experiment", project_id)}
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def default_base(
    workspace: Any, project_id: str, dataset_id: str | None, exclude: str | None = None
) -> str | None:
    """The most recent experiment on the same dataset (Braintrust's default comparison base)."""
    if dataset_id is None:
        return None
    for obj in workspace.objects("experiment", project_id):  # newest first
        if obj.id != exclude and obj.data.get("dataset_id") == dataset_id:
            return obj.id
    return None


def resolve_target(
    workspace: Any,
    project: str,
    prompt: Any,
    dataset: str | list[dict[str, Any]],
    *,
    name: str | None = None,
    base: str | None = None,
    version: int | None = None,
) -> ExperimentTarget:
    """Resolve the project, dataset rows (as of `version` if given), a free experiment name and the base."""
    proj = workspace.project(project)
    dataset_id = dataset_name = None
    if isinstance(dataset, str):
        ds = workspace.get_object("dataset", proj.id, dataset)
        dataset_id, dataset_name = ds.id, ds.name
        # The version first, then the rows as of it: a write in between cannot make them disagree.
        version = version if version is not None else dataset_version(workspace, ds.id)
        rows = dataset_rows(workspace, ds.id, as_of=version)
    else:
        rows = _check_rows(list(dataset))
    if not rows:
        raise UserError(f"the dataset {dataset_name or ''} has no rows to evaluate".replace("  ", " "))
    if name:
        try:
            workspace.get_object("experiment", proj.id, name)
        except NotFoundError:
            pass
        else:
            raise ConflictError(f"an experiment named {name!r} already exists; choose another --name")
    else:
        name = auto_name(workspace, proj.id, getattr(prompt, "name", None) or dataset_name)
    base_id = (
        workspace.get_object("experiment", proj.id, base).id
        if base
        else default_base(workspace, proj.id, dataset_id)
    )
    return ExperimentTarget(proj.id, name, rows, dataset_id, dataset_name, base_id,
                            dataset_version=version if dataset_id else None)


def create_experiment(
    workspace: Any,
    target: ExperimentTarget,
    prompt: Any,
    *,
    model: str,
    scorer_names: list[str],
    trials: int,
    concurrency: int,
    description: str = "",
    metadata: dict[str, Any] | None = None,
    judge_model: str | None = None,
    scorer_definitions: dict[str, Any] | None = None,
) -> None:
    """Save the catalog `experiment` object (status running) and remember its id on the target.

    With the prompt, model and parameters it records what a re-run needs to repeat the run exactly: the
    dataset version, the judge model, and the definitions of the project's own scorers as they were.
    """
    prompt_data = {
        **prompt.to_dict(),
        "id": getattr(prompt, "id", None),
        "name": getattr(prompt, "name", None),
    }
    target.data = {
        "description": description,
        "base_experiment_id": target.base_id,
        "dataset_id": target.dataset_id,
        "dataset_version": target.dataset_version,
        "prompt": prompt_data,
        "model": model,
        "scorers": scorer_names,
        "scorer_definitions": scorer_definitions or {},
        "judge_model": judge_model,
        "metadata": {
            **(metadata or {}),
            "model": model,
            "dataset_name": target.dataset_name,
            "trials": trials,
            "concurrency": concurrency,
        },
        "status": "running",
        "runner": {"pid": os.getpid(), "host": _host()},  # to tell a dead run from a live one
    }
    obj = workspace.save_object("experiment", target.project_id, target.name, target.data)
    target.experiment_id = obj.id


def finish_experiment(
    workspace: Any, target: ExperimentTarget, result: Any, *, status: str, rows_written: int
) -> None:
    """Record how the run ended (`completed`, `cancelled`, `failed` or `interrupted`), how many rows are stored,
    and why a run stopped early."""
    data = {
        **target.data,
        "status": status,
        "row_count": rows_written,
        "error_count": result.errors,
        "estimated_cost": round(result.total_cost, 8),
    }
    if getattr(result, "stopped", None):
        data["stopped"] = result.stopped
    workspace.save_object("experiment", target.project_id, target.name, data, id=target.experiment_id)


def run_status(data: dict[str, Any]) -> str:
    """How an experiment's run stands: its recorded status, except that a `running` run whose process is
    gone (killed, or the machine restarted) is `interrupted`."""
    status = data.get("status") or "completed"
    runner = data.get("runner") or {}
    if status == "running" and runner.get("host") == _host() and not _alive(runner.get("pid")):
        return "interrupted"
    return status


def _host() -> str:
    """This machine, as a short hash (a workspace may be shared; its experiments need not name the machine)."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:12]


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return True  # unknown: assume it still runs
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to someone else
        return True
    return True


def status_note(status: str | None) -> str:
    """" (cancelled)", " (failed)", " (running)" or " (interrupted)" for a run that did not complete; "" otherwise."""
    return "" if status in (None, "completed") else f" ({status})"


def list_experiments(workspace: Any, project: str) -> list[dict[str, Any]]:
    """Experiments of a project, newest first, with row/error counts and the mean of each score."""
    proj = workspace.project(project)
    objects = workspace.objects("experiment", proj.id)
    stats = {
        r["experiment_id"]: r
        for r in workspace.query(
            "SELECT experiment_id, count(*) AS rows, count(error) AS errors FROM experiment "
            "WHERE project_id = ? AND is_root GROUP BY experiment_id",
            [proj.id],
        )
    }
    means: dict[str, dict[str, float]] = {}
    for r in workspace.query(
        "SELECT experiment_id, k AS name, avg(v) AS mean FROM ("
        "  SELECT experiment_id, unnest(map_keys(scores)) AS k, unnest(map_values(scores)) AS v"
        "  FROM experiment WHERE project_id = ? AND is_root AND scores IS NOT NULL"
        ") GROUP BY experiment_id, k ORDER BY k",
        [proj.id],
    ):
        if r["mean"] is not None:
            means.setdefault(r["experiment_id"], {})[r["name"]] = float(r["mean"])
    datasets = {o.id: o.name for o in workspace.objects("dataset", proj.id)}
    names = {o.id: o.name for o in objects}
    out = []
    for obj in objects:
        row = stats.get(obj.id, {})
        out.append(
            {
                "id": obj.id,
                "name": obj.name,
                "created": obj.created.isoformat(),
                "dataset": datasets.get(obj.data.get("dataset_id") or "", obj.data.get("dataset_id")),
                "base": names.get(obj.data.get("base_experiment_id") or ""),
                "model": obj.data.get("model"),
                "rows": int(row.get("rows") or 0),
                "errors": int(row.get("errors") or 0),
                "scores": means.get(obj.id, {}),
                "status": run_status(obj.data),
            }
        )
    return out
