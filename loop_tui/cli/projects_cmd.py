"""`loop-tui projects`: list projects with their object and row counts."""

from __future__ import annotations

import argparse

from loop_tui.cli.output import print_json, print_table


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `projects` subcommand."""
    parser = subparsers.add_parser("projects", help="list projects with log, experiment and dataset counts")
    parser.add_argument("--format", choices=["table", "json"], default="table")
    parser.set_defaults(func=run)
    return parser


def project_summaries(ws: object) -> list[dict]:
    """One dict per project: id, name, log spans, experiments, datasets (counts)."""
    rows = ws.query(  # type: ignore[attr-defined]
        """
        SELECT p.id, p.name,
               (SELECT count(*) FROM project_logs l WHERE l.project_id = p.id) AS logs,
               (SELECT count(*) FROM catalog c WHERE c.kind = 'experiment' AND c.project_id = p.id) AS experiments,
               (SELECT count(*) FROM catalog c WHERE c.kind = 'dataset' AND c.project_id = p.id) AS datasets
        FROM catalog p WHERE p.kind = 'project' ORDER BY p.name
        """
    )
    return [dict(r) for r in rows]


def run(args: argparse.Namespace) -> int:
    """Print the projects."""
    from loop_tui.store import open_workspace

    ws = open_workspace(args.workspace)
    summaries = project_summaries(ws)
    if args.format == "json":
        print_json(summaries)
    else:
        print_table(["NAME", "LOGS", "EXPERIMENTS", "DATASETS", "ID"],
                    [[s["name"], f"{s['logs']:,}", s["experiments"], s["datasets"], s["id"]] for s in summaries])
    return 0
