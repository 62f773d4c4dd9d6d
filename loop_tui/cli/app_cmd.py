"""`loop-tui app` (and `loop-tui` with no subcommand): open the terminal app on a workspace."""

from __future__ import annotations

import argparse

PAGE_CHOICES = ("playground", "experiments", "datasets", "logs", "btql", "settings")


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `app` subcommand."""
    parser = subparsers.add_parser("app", help="open the terminal app (the default when no command is given)")
    parser.add_argument("--page", choices=PAGE_CHOICES, default="logs", help="page to open first (default: logs)")
    parser.add_argument("--project", metavar="NAME", help="project to show first (default: the first one)")
    parser.add_argument("--otlp", metavar="[HOST:]PORT", nargs="?", const="",
                        help="also receive OpenTelemetry traces (default 127.0.0.1:4318); the logs page shows them live")
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
    receiver = _start_receiver(workspace, getattr(args, "otlp", None))
    app.otlp_receiver = receiver  # the logs page's live line reads it (None without --otlp)
    try:
        app.run()
    finally:
        if receiver is not None:
            receiver.stop()  # writes every span it accepted
    return app.return_code or 0


def _start_receiver(workspace, address: str | None):  # type: ignore[no-untyped-def]
    """The in-app OTLP receiver for `--otlp` (spans go to the project named by their service.name)."""
    if address is None:
        return None
    from loop_tui.interop.otlp_server import OtlpReceiver, parse_address
    from loop_tui.interop.otlp_writer import SpanWriter

    host, port = parse_address(address)
    # The app owns the terminal: the writer's rare failure lines and the HTTP server's warnings go nowhere
    # rather than over the screen.
    def quiet(_text: str) -> None:
        return None

    return OtlpReceiver(SpanWriter(workspace, log=quiet), host, port, log=quiet).start_in_thread()
