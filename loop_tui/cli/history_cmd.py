"""`loop-tui history` and `loop-tui undo XACT`: what changed in the workspace, and taking it back."""

from __future__ import annotations

import argparse

from loop_tui.cli.output import print_json, print_table


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `history` subcommand (with `--undo XACT`)."""
    parser = subparsers.add_parser("history", help="list recent writes, or undo one with --undo XACT")
    parser.add_argument("--row", help="show every version of one row id")
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--undo", type=int, metavar="XACT", help="undo the write with this transaction id")
    parser.add_argument("--format", choices=["table", "json"], default="table")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Print history or undo a write."""
    from loop_tui.store import open_workspace

    ws = open_workspace(args.workspace)
    if args.undo is not None:
        new = ws.undo(args.undo)
        print(f"undid write {args.undo} (as write {new})")
        return 0
    entries = ws.history(row_id=args.row, limit=args.limit)
    if args.format == "json":
        print_json([e.__dict__ for e in entries])
        return 0
    print_table(
        ["XACT", "TIME", "OP", "TABLE", "ROWS", "DESCRIPTION"],
        [[e.xact_id, e.time.strftime("%Y-%m-%d %H:%M:%S"), e.op, e.table, e.count, e.description] for e in entries],
    )
    return 0
