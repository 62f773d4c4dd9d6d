"""Imports of other tools' files: OTLP JSON traces, Phoenix/OpenInference spans, Langfuse exports,
inspect_ai eval logs and promptfoo results.

Each reader turns a file into `ImportedObject`s (project logs, or one experiment per eval log or per
provider) of Braintrust-format rows. `run_import` validates every row of every object before writing
anything (a bad record is a `UserError` naming it), then writes each object in one transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loop_tui.errors import UserError

FORMATS = ("otlp", "openinference", "langfuse", "inspect", "promptfoo")
# What each format becomes: traces go to project logs, evals to experiments.
FORMAT_KIND = {"otlp": "logs", "openinference": "logs", "langfuse": "logs", "inspect": "experiment",
               "promptfoo": "experiment"}
_LABELS = {"otlp": "an OTLP trace file", "openinference": "an OpenInference span file", "langfuse": "a Langfuse export",
           "inspect": "an inspect_ai eval log", "promptfoo": "a promptfoo results file"}


@dataclass
class ImportedObject:
    """Rows for one target: the project's logs (`name` None) or one experiment."""

    table: str  # "project_logs" or "experiment"
    rows: list[dict[str, Any]]
    name: str | None = None
    description: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


def detect(path: Path) -> str | None:
    """The format of another tool's file from its name and first record; None for Braintrust rows."""
    if path.suffix.lower() == ".eval":
        return "inspect"
    if path.suffix.lower() not in (".json", ".jsonl", ".ndjson"):
        return None
    first = _first_value(path)
    if isinstance(first, dict):
        if "resourceSpans" in first or "resource_spans" in first:
            return "otlp"
        if "eval" in first and ("samples" in first or "status" in first) and isinstance(first.get("eval"), dict):
            return "inspect"
        if "evalId" in first or (isinstance(first.get("results"), dict) and "results" in first["results"]):
            return "promptfoo"
        if {"traces", "observations"} & set(first) or "traceId" in first or "observations" in first:
            return "langfuse"
        if isinstance(first.get("data"), list) and first["data"] and isinstance(first["data"][0], dict):
            return _detect_record(first["data"][0])
        return _detect_record(first)
    if isinstance(first, list) and first and isinstance(first[0], dict):
        return _detect_record(first[0])
    return None


def _detect_record(record: dict[str, Any]) -> str | None:
    if "traceId" in record or "observations" in record or "parentObservationId" in record:
        return "langfuse"
    context = record.get("context")
    if isinstance(context, dict) and "span_id" in context and "trace_id" in context:
        return "openinference"  # Phoenix's span JSON
    return None


def _first_value(path: Path) -> Any:
    """The whole file as JSON, or its first line's JSON (JSONL); None when neither parses."""
    try:
        with open(path, encoding="utf-8") as fh:
            head = fh.read(1 << 20)
            if path.suffix.lower() == ".json" and len(head) < (1 << 20):
                try:
                    return json.loads(head)
                except (ValueError, RecursionError):
                    pass
            fh.seek(0)
            for line in fh:
                if line.strip():
                    return json.loads(line)
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):  # the row reader says what is wrong
        return None
    if path.suffix.lower() == ".json":  # a big JSON file: parse it whole
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError, RecursionError):
            return None
    return None


def read(path: Path, fmt: str) -> list[ImportedObject]:
    """Read `path` as `fmt` into objects to write (nothing is written here)."""
    if not path.exists():
        raise UserError(f"no such file: {path}")
    if fmt in ("otlp", "openinference"):
        from loop_tui.interop.imports.otlp_file import read_spans_file

        return [read_spans_file(path)]
    if fmt == "langfuse":
        from loop_tui.interop.imports.langfuse import read_langfuse

        return [read_langfuse(path)]
    if fmt == "inspect":
        from loop_tui.interop.imports.inspect_log import read_inspect_log

        return [read_inspect_log(path)]
    if fmt == "promptfoo":
        from loop_tui.interop.imports.promptfoo import read_promptfoo

        return read_promptfoo(path)
    raise UserError(f"unknown --from {fmt!r}; use one of {', '.join(FORMATS)}")


def load_json(path: Path) -> Any:
    """A JSON file's value, or a JSONL file's values as a list; a bad line is a `UserError` naming it."""
    text = _read_text(path)
    try:
        return json.loads(text)
    except ValueError:
        pass
    except RecursionError:
        raise UserError(f"{path.name} is nested too deeply to read") from None
    values = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            values.append(json.loads(line))
        except ValueError as exc:
            raise UserError(f"{path.name} line {n}: not valid JSON ({exc})") from None
        except RecursionError:
            raise UserError(f"{path.name} line {n}: nested too deeply to read") from None
    if not values:
        raise UserError(f"{path.name} is empty")
    return values


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path.name} is not UTF-8 text") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None


def run_import(args: Any) -> int | None:
    """`loop-tui import … --from FORMAT` (or a detected format); None to let the Braintrust-row import run."""
    fmt = getattr(args, "from_format", None)
    if fmt is None and getattr(args, "format", None) is None:
        fmt = detect(args.file)
    if fmt is None:
        return None
    want = FORMAT_KIND[fmt]
    if args.kind != want:
        raise UserError(f"{args.file.name} is {_LABELS[fmt]}, which imports as {'an experiment' if want == 'experiment' else 'logs'}: "
                        f"use `loop-tui import {want} {args.file} --project …`")
    objects = read(args.file, fmt)
    return write_objects(args, objects, fmt)


def write_objects(args: Any, objects: list[ImportedObject], fmt: str) -> int:
    """Validate every row of every object, check names, then write each object in one transaction."""
    from loop_tui.errors import ConflictError
    from loop_tui.safe_text import visible
    from loop_tui.store import open_workspace
    from loop_tui.store import schema as sch

    prepared = []
    for obj in objects:
        if not obj.rows:
            raise UserError(f"{args.file.name} has no {'spans' if obj.table == 'project_logs' else 'samples'} to import")
        label = obj.name or "logs"
        records = [sch.normalize_span(row, f"{args.file.name}: {row.pop('__where__', label)}") for row in obj.rows]
        prepared.append((obj, records))
    ws = open_workspace(args.workspace)
    project, _ = ws.ensure_project(args.project)
    names = [obj.name for obj, _ in prepared if obj.table == "experiment"]
    if len(set(names)) != len(names):
        raise UserError(f"{args.file.name} would make two experiments with one name; pass --name")
    taken = {o.name for o in ws.objects("experiment", project.id)}
    clash = next((n for n in names if n in taken), None)
    if clash:
        raise UserError(f"an experiment named {clash!r} already exists in {visible(project.name)}; pass another --name")
    for obj, records in prepared:
        description = f"import {args.file.name} ({fmt})"
        if obj.table == "project_logs":
            xact = ws.append_rows("project_logs", project.id, records, project_id=project.id, op="import",
                                  description=description)
            print(f"imported {len(records):,} spans into logs of {visible(project.name)} (write {xact})")
        else:
            scorers = sorted({k for r in records for k, _ in (r.get("scores") or ())})
            name = obj.name or args.file.stem
            try:  # save_object refuses a name that exists, under the lock
                experiment = ws.save_object("experiment", project.id, name, {
                    "description": obj.description or f"imported from {args.file.name}",
                    "model": obj.metadata.get("model"), "scorers": scorers, "metadata": obj.metadata,
                    "imported_from": fmt, "status": "completed"})
            except ConflictError:
                raise UserError(f"an experiment named {name!r} already exists in {visible(project.name)}; "
                                "pass another --name") from None
            xact = ws.append_rows("experiment", experiment.id, records, project_id=project.id, op="import",
                                  description=description)
            print(f"imported {len(records):,} rows into experiment {visible(experiment.name)!r} of "
                  f"{visible(project.name)} (write {xact})")
    return 0
