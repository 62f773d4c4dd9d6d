"""`loop-tui demo`: write the deterministic sample workspace."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from loop_tui import clock
from loop_tui.errors import UserError


def _end(value: str) -> datetime:
    if value == "now":
        return clock.now()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--end must be an ISO-8601 date or 'now', got {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `demo` subcommand."""
    parser = subparsers.add_parser("demo", help="write the sample workspace (two projects, logs, experiments, datasets)")
    parser.add_argument("--spans", type=int, default=5000, help="log spans to generate (default 5000; up to millions)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (same seed, same data)")
    parser.add_argument("--end", type=_end, default=None, help="last day of the 30-day log window (ISO date or 'now')")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Generate the sample data into the workspace."""
    from loop_tui.config import default_workspace_path
    from loop_tui.store.demo import generate

    if args.spans < 100:
        raise UserError("--spans must be at least 100")
    target = args.workspace or default_workspace_path()
    tty = sys.stderr.isatty()

    def progress(done: int) -> None:
        if tty:
            sys.stderr.write(f"\r  {done:,} spans written")
            sys.stderr.flush()

    ws = generate(target, spans=args.spans, seed=args.seed, end=args.end, progress=progress)
    if tty:
        sys.stderr.write("\r")
    counts = ws.query("SELECT (SELECT count(*) FROM project_logs) AS logs, (SELECT count(*) FROM experiment) AS exp")[0]
    print(f"wrote sample workspace to {ws.root}: 2 projects, {counts['logs']:,} log spans, {counts['exp']:,} experiment spans")
    print(f"open it with: loop-tui --workspace {ws.root}")
    return 0
