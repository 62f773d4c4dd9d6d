"""`loop-tui compact`: fold each object's segments into one file (history and undo are kept)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `compact` subcommand."""
    parser = subparsers.add_parser("compact", help="fold many small segments into one per object (keeps history)")
    parser.add_argument("--table", choices=["project_logs", "experiment", "dataset", "catalog"], help="only this table")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Compact the workspace."""
    import sys

    from loop_tui.store import open_workspace

    ws = open_workspace(args.workspace)
    changed, skipped = ws.compact_report(args.table)
    print(f"compacted {changed} object(s)" if changed else "nothing to compact")
    for damage in skipped:
        sys.stderr.write(f"loop-tui: not compacted, because {damage.message(ws.root)}\n")
    return 1 if skipped else 0
