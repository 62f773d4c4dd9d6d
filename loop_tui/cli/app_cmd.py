"""`loop-tui app` (and `loop-tui` with no subcommand): open the terminal app on a workspace."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loop_tui.config import StartupSettings
    from loop_tui.interop.otlp_server import OtlpReceiver
    from loop_tui.store import Workspace

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
    """Open the app on `open_workspace(args.workspace)`.

    The first frame comes first: settings, the workspace (and with it pyarrow and DuckDB) and the OTLP
    receiver are opened by the app in a worker once it is drawn. Bad settings, a bad workspace or an unknown
    `--project` make the app exit at once, and this prints the one-line error (exit code 2).
    """
    from loop_tui.ui.app import LoopApp

    workspace_arg = getattr(args, "workspace", None)
    project = getattr(args, "project", None)
    otlp = getattr(args, "otlp", None)
    receivers: list[OtlpReceiver] = []

    def open_everything() -> tuple[Workspace, StartupSettings]:  # runs in the app's worker thread
        from loop_tui.config import read_startup_settings
        from loop_tui.store import open_workspace

        settings = read_startup_settings()  # (checked in full by the app once the first rows are shown)
        workspace = open_workspace(workspace_arg)
        if project:
            workspace.project(project)  # an unknown project is a one-line error, not an empty app
        receiver = _start_receiver(workspace, otlp)
        if receiver is not None:
            receivers.append(receiver)
        app.otlp_receiver = receiver  # the logs page's live line reads it (None without --otlp)
        return workspace, settings

    app = LoopApp(None, None, start_page=getattr(args, "page", None) or "logs", project=project,
                  opener=open_everything, where=str(workspace_arg or ""))
    try:
        app.run()
    finally:
        for receiver in receivers:
            receiver.stop()  # writes every span it accepted
    if app.startup_error is not None:
        raise app.startup_error
    return app.return_code or 0


def _start_receiver(workspace: Workspace, address: str | None) -> OtlpReceiver | None:
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
