"""`loop-tui app` (and `loop-tui` with no subcommand): open the terminal app on a workspace."""

from __future__ import annotations

import argparse

PAGE_CHOICES = ("playground", "experiments", "datasets", "logs", "btql", "settings")


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `app` subcommand."""
    parser = subparsers.add_parser("app", help="open the terminal app (the default when no command is given)")
    parser.add_argument("--page", choices=PAGE_CHOICES, default="logs", help="page to open first (default: logs)")
    parser.add_argument("--project", metavar="NAME", help="project to show first (default: the first one)")
    parser.set_defaults(func=run_app)
    return parser


def run_app(args: argparse.Namespace) -> int:
    """Open the app on `open_workspace(args.workspace)`; bad settings or workspace exit 2 before it starts."""
    from loop_tui.config import load_settings
    from loop_tui.store import open_workspace

    settings = load_settings()
    workspace = open_workspace(getattr(args, "workspace", None))
    if getattr(args, "project", None):
        workspace.project(args.project)  # an unknown project is a one-line error before the app starts
    from loop_tui.ui.app import LoopApp

    app = LoopApp(
        workspace,
        settings,
        start_page=getattr(args, "page", None) or "logs",
        project=getattr(args, "project", None),
    )
    app.run()
    return app.return_code or 0
