"""`loop-tui import logs|dataset|experiment FILE --project P [--name N]`."""

from __future__ import annotations

import argparse
from pathlib import Path

from loop_tui.errors import ConflictError, UserError

KINDS = {"logs": "project_logs", "dataset": "dataset", "experiment": "experiment"}


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `import` subcommand."""
    parser = subparsers.add_parser("import", help="import Braintrust-format rows from .jsonl, .csv or .parquet")
    parser.add_argument("kind", choices=list(KINDS), help="what the rows are")
    parser.add_argument("file", type=Path, help="the file to import, or a `bt sync` pull folder")
    parser.add_argument("--project", required=True, help="project name or id (created if missing)")
    parser.add_argument("--name", help="dataset or experiment name (default: the file name)")
    parser.add_argument("--format", choices=["jsonl", "csv", "parquet"], help="override the format from the extension")
    parser.add_argument("--from", dest="from_format", choices=["otlp", "openinference", "langfuse", "inspect", "promptfoo"],
                        help="another tool's file (default: detected from the file)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Validate the whole file, then write it in one transaction."""
    from loop_tui.interop.imports import run_import

    handled = run_import(args)  # another tool's file (OTLP, Phoenix, Langfuse, inspect_ai, promptfoo)
    if handled is not None:
        return handled
    from loop_tui.safe_text import visible
    from loop_tui.store import open_workspace
    from loop_tui.store.io import detect_format, normalize_for_import, read_rows

    table = KINDS[args.kind]
    if args.file.is_dir():  # a `bt sync` pull folder (spec.json, data/part-*.jsonl)
        from loop_tui.cli.sync_cmd import import_bt_sync_folder

        return import_bt_sync_folder(args, table)
    fmt = detect_format(args.file, args.format)
    rows = normalize_for_import(table, read_rows(args.file, fmt), args.file.name)
    if not rows:
        raise UserError(f"{args.file.name} has no rows to import")
    ws = open_workspace(args.workspace)
    project, _ = ws.ensure_project(args.project)
    if table == "project_logs":
        object_id = project.id
    else:
        name = args.name or args.file.stem
        description = {"description": f"imported from {args.file.name}"}
        if table == "experiment":
            # save_object refuses a name that exists, under the lock: two imports cannot make two experiments.
            try:
                obj = ws.save_object(table, project.id, name, description)
            except ConflictError:
                raise UserError(f"an experiment named {name!r} already exists in {project.name}; pass another --name") from None
        else:
            obj, _ = ws.ensure_object(table, project.id, name, description)
        object_id = obj.id
    duplicates = len(rows) - len({r["id"] for r in rows})
    xact = ws.append_rows(table, object_id, rows, project_id=project.id, op="import", description=f"import {args.file.name}")
    print(f"imported {len(rows) - duplicates:,} rows into {args.kind} of {visible(project.name)} (write {xact})")
    if duplicates:
        print(f"{duplicates:,} line(s) repeated an id of an earlier line: the last line with each id was kept")
    return 0
