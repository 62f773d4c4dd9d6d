"""`loop-tui doctor [--repair]`: check every file of the workspace and say what is damaged; repair what can be."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `doctor` subcommand."""
    parser = subparsers.add_parser(
        "doctor", help="check every file of the workspace; --repair quarantines damaged segments and rebuilds"
    )
    parser.add_argument("--repair", action="store_true",
                        help="move damaged segments into quarantine/, rebuild the log and catalog from the segments")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Examine (or repair) the workspace; exit 1 while something is still damaged."""
    from pathlib import Path

    from loop_tui.config import default_workspace_path
    from loop_tui.store.doctor import examine, repair
    from loop_tui.store.opening import prepare

    root = prepare(Path(args.workspace) if args.workspace else default_workspace_path(), create=False,
                   check_log=False)
    report = repair(root) if args.repair else examine(root)
    for line in report.repaired:
        print(f"repaired: {line}")
    for line in report.problems:
        print(f"damaged: {line}")
    for line in report.notes:
        print(f"note: {line}")
    if report.problems:
        if not args.repair:
            print("run `loop-tui doctor --repair` to move damaged segments into quarantine/ and rebuild what can be")
        return 1
    print(f"{root}: {report.checked:,} segment(s) read in full, nothing damaged")
    return 0
