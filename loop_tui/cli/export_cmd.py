"""`loop-tui export logs|dataset|experiment --project P [--name N] [--out FILE] [--format ...]`."""

from __future__ import annotations

import argparse
from pathlib import Path

from loop_tui.errors import UserError

KINDS = {"logs": "project_logs", "dataset": "dataset", "experiment": "experiment"}


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `export` subcommand."""
    parser = subparsers.add_parser("export", help="export rows in Braintrust's row format (jsonl, csv, parquet)")
    parser.add_argument("kind", choices=list(KINDS))
    parser.add_argument("--project", required=True, help="project name or id")
    parser.add_argument("--name", help="dataset or experiment name or id")
    parser.add_argument("--out", type=Path, help="output file, a regular file or new (default, or -: stdout)")
    parser.add_argument("--format", choices=["jsonl", "csv", "parquet"], help="default: from --out, else jsonl")
    parser.add_argument("--layout", choices=["file", "bt-sync"], default="file",
                        help="bt-sync: write a `bt sync` pull folder at --out (spec.json, data/part-*.jsonl)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Write the latest version of every row, a batch at a time (bounded memory at any size)."""
    from loop_tui.store import open_workspace
    from loop_tui.store.export_rows import braintrust_row_batches, write_row_batches
    from loop_tui.store.io import detect_format

    table = KINDS[args.kind]
    if args.layout == "bt-sync":
        from loop_tui.cli.sync_cmd import export_bt_sync_folder

        return export_bt_sync_folder(args, table)
    to_file = args.out is not None and str(args.out) != "-"
    fmt = args.format or (detect_format(args.out) if to_file else "jsonl")
    ws = open_workspace(args.workspace)
    project = ws.project(args.project)
    if table == "project_logs":
        object_id = project.id
    else:
        if not args.name:
            raise UserError(f"export {args.kind} needs --name (the {args.kind}'s name or id)")
        object_id = ws.get_object(table, project.id, args.name).id
    written = write_row_batches(lambda: braintrust_row_batches(ws, table, object_id), fmt, args.out)
    if to_file:
        print(f"exported {written:,} rows to {args.out}")
    return 0
