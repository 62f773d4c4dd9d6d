"""`loop-tui experiments --project P`: list a project's experiments with their score means."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `experiments` subcommand."""
    parser = subparsers.add_parser("experiments", help="list a project's experiments with their score means")
    parser.add_argument("--project", required=True, help="project name or id")
    parser.add_argument("--format", choices=["table", "json"], default="table")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Print the experiments, newest first."""
    from loop_tui.cli.output import print_json, print_table
    from loop_tui.evals.experiments import list_experiments, status_note
    from loop_tui.store import open_workspace

    experiments = list_experiments(open_workspace(args.workspace), args.project)
    if args.format == "json":
        print_json(experiments)
        return 0
    score_names = sorted({name for e in experiments for name in e["scores"]})
    headers = ["NAME", "CREATED", "ROWS", "ERRORS", *score_names, "MODEL", "DATASET"]
    rows = []
    for e in experiments:
        scores = [f"{e['scores'][n] * 100:.1f}%" if n in e["scores"] else "-" for n in score_names]
        rows.append(
            [
                e["name"] + status_note(e["status"]),
                e["created"][:16].replace("T", " "),
                e["rows"],
                e["errors"],
                *scores,
                e["model"] or "-",
                e["dataset"] or "-",
            ]
        )
    print_table(headers, rows)
    return 0
