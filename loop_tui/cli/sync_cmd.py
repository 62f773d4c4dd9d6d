"""`loop-tui sync pull|push --project P …`: copy a Braintrust project here, and send local changes back."""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from loop_tui.cli.output import print_json
from loop_tui.counts import counted
from loop_tui.errors import UserError

PULL_OBJECTS = ("logs", "experiments", "datasets", "prompts", "scorers")
PUSH_OBJECTS = ("datasets", "prompts", "scorers", "experiments")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `sync` subcommand with its `pull` and `push` actions."""
    parser = subparsers.add_parser("sync", help="pull a Braintrust project into the workspace, push local changes back")
    actions = parser.add_subparsers(dest="sync_action", metavar="ACTION", required=True, parser_class=type(parser))
    pull = actions.add_parser("pull", help="copy a project's logs, experiments, datasets, prompts and scorers here")
    pull.add_argument("--project", required=True, help="Braintrust project name")
    pull.add_argument("--objects", default=",".join(PULL_OBJECTS), help=f"comma-separated: {','.join(PULL_OBJECTS)}")
    when = pull.add_mutually_exclusive_group()
    when.add_argument("--since", metavar="DURATION", help="only rows created in the last DURATION (30m, 12h, 7d, 2w)")
    when.add_argument("--all", action="store_true", help="fetch everything again, not just what changed")
    pull.add_argument("--format", choices=["text", "json"], default="text")
    pull.add_argument("--batch-rows", type=int, default=20_000, metavar="N",
                      help="rows per local write (smaller: a killed pull loses less; default 20000)")
    pull.set_defaults(func=run_pull)
    push = actions.add_parser("push", help="send rows and objects changed here since the last sync")
    push.add_argument("--project", required=True, help="project name")
    push.add_argument("--objects", default=",".join(PUSH_OBJECTS), help=f"comma-separated: {','.join(PUSH_OBJECTS)}")
    push.add_argument("--dry-run", action="store_true", help="list what would be sent; send nothing")
    push.add_argument("--prefer", choices=["local", "remote"], help="settle rows changed on both sides")
    push.add_argument("--format", choices=["text", "json"], default="text")
    push.set_defaults(func=run_push)
    for action in (pull, push):
        action.add_argument("--workspace", metavar="DIR", default=argparse.SUPPRESS, help="workspace folder")
    return parser


def parse_objects(text: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """The `--objects` list, checked."""
    chosen = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    bad = [p for p in chosen if p not in allowed]
    if bad or not chosen:
        raise UserError(f"--objects: unknown object kind {bad[0]!r}; use {','.join(allowed)}" if bad
                        else f"--objects: name at least one of {','.join(allowed)}")
    return chosen


def parse_since(text: str, now: datetime | None = None) -> str:
    """`--since 7d` as the ISO time that long ago."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text or "")
    if not match:
        raise UserError(f"--since: {text!r} is not a duration; write e.g. 30m, 12h, 7d or 2w")
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    start = (now or datetime.now(UTC)) - timedelta(seconds=seconds)
    return start.isoformat().replace("+00:00", "Z")


class _Progress:
    """Counts and rate on stderr when it is a terminal (one line, rewritten in place)."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.started = time.monotonic()
        self.last = 0.0

    def __call__(self, label: str, fetched: int, written: int) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.1:
            return
        self.last = now
        rate = fetched / max(now - self.started, 1e-6)
        safe = "".join(c if c.isprintable() else "?" for c in label)[:40]
        sys.stderr.write(f"\r  {safe}: {counted(fetched, 'row')} fetched, {written:,} written ({rate:,.0f} rows/s)\033[K")
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\r\033[K")


def run_pull(args: argparse.Namespace) -> int:
    """Pull, then print what changed (exit 0; a failure part-way keeps what was written and exits non-zero)."""
    from loop_tui.remote.client import BraintrustClient
    from loop_tui.remote.connection import load_connection
    from loop_tui.remote.pull import PullOptions, pull_project
    from loop_tui.store import open_workspace

    options = PullOptions(objects=parse_objects(args.objects, PULL_OBJECTS), full=args.all,
                          since_created=parse_since(args.since) if args.since else None,
                          batch_rows=max(1, args.batch_rows))
    progress = _Progress()
    options.progress = progress
    ws = open_workspace(args.workspace)
    with BraintrustClient(load_connection()) as client:
        try:
            report = pull_project(ws, client, args.project, options)
        finally:
            progress.done()
    _print_report(report, args.format, "pulled", "written")
    return 0


def run_push(args: argparse.Namespace) -> int:
    """Push (or with --dry-run list) local changes; conflicts are listed and make the exit code 3."""
    from loop_tui.remote.client import BraintrustClient
    from loop_tui.remote.connection import load_connection
    from loop_tui.remote.push import PushOptions, push_project
    from loop_tui.store import open_workspace

    options = PushOptions(objects=parse_objects(args.objects, PUSH_OBJECTS), dry_run=args.dry_run, prefer=args.prefer)
    ws = open_workspace(args.workspace)
    with BraintrustClient(load_connection()) as client:
        report = push_project(ws, client, args.project, options)
    _print_report(report, args.format, "would send" if args.dry_run else "pushed", "sent")
    return 3 if report.totals()["conflicts"] else 0


def _print_report(report: Any, fmt: str, verb: str, written_label: str) -> None:
    if fmt == "json":
        print_json({"project": report.project, "totals": report.totals(), "objects": [asdict(o) for o in report.objects]})
        return
    from loop_tui.safe_text import visible

    def say(line: str) -> None:  # every line may quote names and row ids from data
        sys.stdout.write(visible(line) + "\n")

    totals = report.totals()
    if verb == "would send":
        from loop_tui.remote.push import plan_summary

        say(plan_summary(report)[0])
    else:
        say(f"{verb} {report.project}: {counted(totals['written'], 'row')} {written_label}, {totals['deleted']:,} deleted, "
            f"{totals['unchanged']:,} unchanged, {counted(totals['conflicts'], 'conflict')}")
    for obj in report.objects:
        if obj.written or obj.deleted or obj.conflicts or obj.would_send:
            counts = f"{len(obj.would_send)} to send" if obj.would_send else \
                f"{counted(obj.written, 'row')} {written_label}, {obj.deleted:,} deleted"
            say(f"  {obj.kind} {obj.name!r}: {counts}")
        for item in obj.would_send:
            say(f"    {item['action']} {item['id']}")
        for row_id in obj.conflicts:
            say(f"    conflict: {row_id} changed here and in Braintrust since the last sync "
                "(nothing sent; use --prefer local|remote)")


def import_bt_sync_folder(args: argparse.Namespace, table: str) -> int:
    """`loop-tui import KIND FOLDER --project P`: the rows of a `bt sync` pull folder, all or nothing."""
    from loop_tui.remote.bt_sync import TABLE_BY_TYPE, read_rows, read_spec, read_status
    from loop_tui.safe_text import visible
    from loop_tui.store import open_workspace
    from loop_tui.store.io import normalize_for_import

    spec = read_spec(args.file)
    if TABLE_BY_TYPE[spec["object_type"]] != table:
        kind = "logs" if spec["object_type"] == "project_logs" else spec["object_type"]
        raise UserError(f"{args.file} holds {spec['object_type']} rows, not {args.kind}; import it as {kind}")
    rows = normalize_for_import(table, read_rows(args.file), args.file.name)
    if not rows:
        raise UserError(f"{args.file} has no rows to import")
    ws = open_workspace(args.workspace)
    project, _ = ws.ensure_project(args.project)
    object_id = project.id
    if table != "project_logs":
        name = args.name or str(spec.get("object_name") or args.file.name)
        obj, _ = ws.ensure_object(table, project.id, name, {"description": f"imported from bt sync {args.file.name}"})
        object_id = obj.id
    xact = ws.append_rows(table, object_id, rows, project_id=project.id, op="import",
                          description=f"import bt sync {args.file.name}")
    status = read_status(args.file)
    note = "" if status == "completed" else f" (the bt pull was {status}, not completed: these are the rows it got)"
    print(f"imported {counted(len(rows), 'row')} into {args.kind} of {visible(project.name)} (write {xact}){note}")
    return 0


def export_bt_sync_folder(args: argparse.Namespace, table: str) -> int:
    """`loop-tui export KIND --project P [--name N] --layout bt-sync --out DIR`: a folder `bt sync push` reads."""
    from loop_tui.remote.bt_sync import export_row, write_folder
    from loop_tui.store import open_workspace
    from loop_tui.store.schema import row_to_braintrust

    if args.out is None:
        raise UserError("--layout bt-sync needs --out DIR (a new folder)")
    ws = open_workspace(args.workspace)
    project = ws.project(args.project)
    if table == "project_logs":
        object_id, object_name = project.id, project.name
    else:
        if not args.name:
            raise UserError(f"export {args.kind} needs --name (the {args.kind}'s name or id)")
        obj = ws.get_object(table, project.id, args.name)
        object_id, object_name = obj.id, obj.name
    rows = [export_row(row_to_braintrust(table, r)) for r in ws.read_rows(table, object_id).to_pylist()]
    write_folder(args.out, table, object_name, rows)
    print(f"exported {counted(len(rows), 'row')} to the bt sync folder {args.out}")
    return 0
