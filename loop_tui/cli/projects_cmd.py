"""`loop-tui projects`: list projects with their object and row counts."""

from __future__ import annotations

import argparse
from typing import Any

from loop_tui.cli.output import print_json, print_table


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `projects` subcommand."""
    parser = subparsers.add_parser("projects", help="list projects with log, experiment and dataset counts")
    parser.add_argument("--format", choices=["table", "json"], default="table")
    parser.set_defaults(func=run)
    return parser


def project_summaries(ws: Any) -> list[dict]:
    """One dict per project: id, name, log spans, experiments, datasets (counts).

    A project whose logs are damaged has `logs` None and its damage sentence under `damaged`; the others
    are counted as usual (the damaged logs are left out of the count by name, so the query never reads them).
    """
    from loop_tui.store.failures import DamagedError

    ws.query("SELECT 1")  # refresh, so the damage list is current
    while True:
        damaged = {d.object_id: d.message(ws.root) for d in ws.damaged() if d.table == "project_logs"}
        try:
            rows = ws.query(_summary_sql(damaged))
            break
        except DamagedError:
            # Damage found only by reading the rows (inside a file): count again without it, or give up.
            if {d.object_id for d in ws.damaged() if d.table == "project_logs"} <= set(damaged):
                raise
    out = [dict(r) for r in rows]
    for summary in out:
        if summary["id"] in damaged:
            summary["logs"] = None
            summary["damaged"] = damaged[summary["id"]]
    return out


def _summary_sql(damaged: dict[str, str]) -> str:
    # Literals, not a parameter: a filter on constants is what lets DuckDB skip the damaged logs unread.
    skip = ", ".join("'" + pid.replace("'", "''") + "'" for pid in sorted(damaged)) or "''"
    return f"""
        WITH logs AS (SELECT project_id, count(*) AS n FROM project_logs
                      WHERE project_id NOT IN ({skip}) GROUP BY project_id)
        SELECT p.id, p.name, coalesce(logs.n, 0) AS logs,
               (SELECT count(*) FROM catalog c WHERE c.kind = 'experiment' AND c.project_id = p.id) AS experiments,
               (SELECT count(*) FROM catalog c WHERE c.kind = 'dataset' AND c.project_id = p.id) AS datasets
        FROM catalog p LEFT JOIN logs ON logs.project_id = p.id WHERE p.kind = 'project' ORDER BY p.name
        """


def run(args: argparse.Namespace) -> int:
    """Print the projects."""
    import sys

    from loop_tui.store import open_workspace

    ws = open_workspace(args.workspace)
    summaries = project_summaries(ws)
    if args.format == "json":
        print_json(summaries)
    else:
        print_table(["NAME", "LOGS", "EXPERIMENTS", "DATASETS", "ID"],
                    [[s["name"], "damaged" if s["logs"] is None else f"{s['logs']:,}", s["experiments"], s["datasets"],
                      s["id"]] for s in summaries])
    for summary in summaries:
        if "damaged" in summary:
            sys.stderr.write(f"loop-tui: {summary['damaged']}\n")
    return 1 if any("damaged" in s for s in summaries) else 0
