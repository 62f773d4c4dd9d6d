"""`loop-tui compact`: fold each object's segments into few large files (history and undo are kept)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `compact` subcommand."""
    parser = subparsers.add_parser("compact", help="fold many small segments into few large ones per object (keeps history)")
    parser.add_argument("--table", choices=["project_logs", "experiment", "dataset", "catalog"], help="only this table")
    parser.add_argument("--max-rows", type=int, default=None,  # the store's own default (`compact_stream.SEGMENT_ROWS`)
                        help="rows of a new segment at most (default 2,000,000; memory does not grow with it)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Compact the workspace."""
    import sys

    from loop_tui.errors import UserError
    from loop_tui.store import open_workspace

    if args.max_rows is not None and args.max_rows < 1:
        raise UserError("--max-rows must be at least 1")
    ws = open_workspace(args.workspace)
    changed, skipped = ws.compact_report(args.table, args.max_rows)
    print(f"compacted {changed} object(s)" if changed else "nothing to compact")
    for damage in skipped:
        sys.stderr.write(f"loop-tui: not compacted, because {damage.message(ws.root)}\n")
    return 1 if skipped else 0
