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
    """Read, validate and write the file in batches, committed as one transaction at the end."""
    from loop_tui.interop.imports import run_import

    handled = run_import(args)  # another tool's file (OTLP, Phoenix, Langfuse, inspect_ai, promptfoo)
    if handled is not None:
        return handled
    from loop_tui.cli.import_progress import ImportProgress
    from loop_tui.safe_text import visible
    from loop_tui.store import open_workspace
    from loop_tui.store.import_file import import_file
    from loop_tui.store.io import check_readable, detect_format

    table = KINDS[args.kind]
    if args.file.is_dir():  # a `bt sync` pull folder (spec.json, data/part-*.jsonl)
        from loop_tui.cli.sync_cmd import import_bt_sync_folder

        return import_bt_sync_folder(args, table)
    fmt = detect_format(args.file, args.format)
    check_readable(args.file)
    ws = open_workspace(args.workspace)
    name = None if table == "project_logs" else (args.name or args.file.stem)
    progress = ImportProgress(args.file.stat().st_size)
    try:
        result = import_file(ws, args.file, fmt, table, project=args.project, name=name,
                             description={"description": f"imported from {args.file.name}"},
                             op_description=f"import {args.file.name}", on_progress=progress.update)
    except ConflictError:
        raise UserError(f"an experiment named {name!r} already exists in {visible(args.project)}; "
                        "pass another --name") from None
    finally:
        progress.close()
    project_name = result.project_name or ws.project(result.project_id).name
    where = "the logs" if name is None else f"{args.kind} {visible(name)!r}"
    rows = f"{result.rows:,} row{'' if result.rows == 1 else 's'}"
    print(f"imported {rows} into {where} of project {visible(project_name)} (write {result.xact})")
    if result.duplicates:
        print(f"{result.duplicates:,} line(s) repeated an id of an earlier line: the last line with each id was kept")
    return 0
