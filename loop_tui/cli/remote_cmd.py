"""`loop-tui remote status [--format text|json]`: check the Braintrust key and list the organisation's projects."""

from __future__ import annotations

import argparse

from loop_tui.cli.output import print_json, print_table
from loop_tui.counts import counted


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `remote` subcommand."""
    parser = subparsers.add_parser("remote", help="Braintrust connection: check the key, list remote projects")
    actions = parser.add_subparsers(dest="remote_action", metavar="ACTION", required=True,
                                    parser_class=type(parser))
    status = actions.add_parser("status", help="check BRAINTRUST_API_KEY and list the organisation's projects")
    status.add_argument("--format", choices=["text", "json"], default="text")
    status.add_argument("--workspace", metavar="DIR", default=argparse.SUPPRESS, help="workspace folder")
    status.set_defaults(func=run_status)
    return parser


def run_status(args: argparse.Namespace) -> int:
    """Log in, then print the organisation, the API URL and every project (with when it was last pulled here)."""
    from loop_tui.remote.client import BraintrustClient
    from loop_tui.remote.connection import load_connection
    from loop_tui.remote.sync_state import last_synced_by_project

    with BraintrustClient(load_connection()) as client:
        org = client.login()
        projects = client.projects()
    synced = last_synced_by_project(args.workspace)
    rows = [{"name": p.get("name"), "id": p.get("id"), "created": p.get("created"),
             "last_pulled": synced.get(str(p.get("id")))} for p in sorted(projects, key=lambda p: str(p.get("name")))]
    if args.format == "json":
        print_json({"org": org.name, "org_id": org.id, "api_url": org.api_url, "projects": rows})
        return 0
    from loop_tui.safe_text import one_line

    # The name and URL come from the server: text from data, never terminal control sequences.
    print(f"connected to Braintrust organisation {one_line(org.name)} at {one_line(org.api_url)} ({counted(len(rows), 'project')})")
    if rows:
        print_table(["PROJECT", "LAST PULLED HERE", "ID"], [[r["name"], r["last_pulled"] or "never", r["id"]] for r in rows])
    return 0
