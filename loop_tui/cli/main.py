"""Entry point of `loop-tui`: global options, subcommand discovery and error handling.

Each subcommand lives in its own module under `loop_tui.cli` and exposes
`register(subparsers) -> argparse.ArgumentParser`, setting `func(args) -> int` as the parser default.
Modules are imported lazily by name so a missing optional layer never breaks the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from loop_tui.errors import UserError
from loop_tui.safe_text import visible

# Subcommand modules in help order. A module that does not exist yet is skipped.
COMMAND_MODULES = (
    "app_cmd",
    "demo_cmd",
    "projects_cmd",
    "import_cmd",
    "serve_cmd",
    "export_cmd",
    "history_cmd",
    "compact_cmd",
    "doctor_cmd",
    "btql_cmd",
    "eval_cmd",
    "experiments_cmd",
    "ask_cmd",
    "remote_cmd",
    "sync_cmd",
)


APP_PAGES = ("playground", "experiments", "datasets", "logs", "btql", "settings")


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad arguments as one line and exit code 2 (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        prog = self.prog
        sys.stderr.write(f"{prog}: error: {visible(message)} (see `{prog} --help`)\n")
        raise SystemExit(2)


def _add_global_options(parser: argparse.ArgumentParser, *, default: object) -> None:
    parser.add_argument(
        "--workspace",
        metavar="DIR",
        default=default,
        help="workspace folder (env LOOP_TUI_WORKSPACE; default: your user data dir, seeded with sample data)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=False if default is None else default,
        help="name the log file where the app writes the tracebacks of background failures",
    )


def build_parser() -> argparse.ArgumentParser:
    """Build the full parser with every available subcommand."""
    parser = _Parser(prog="loop-tui", description="Evaluate and monitor LLM products from the terminal.")
    _add_global_options(parser, default=None)
    parser.add_argument("--page", choices=APP_PAGES, help="app: page to open first (default: logs)")
    parser.add_argument("--project", metavar="NAME", help="app: project to show first")
    parser.add_argument("--otlp", metavar="[HOST:]PORT", nargs="?", const="",
                        help="app: also receive OpenTelemetry traces (default 127.0.0.1:4318) into the logs page")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"loop_tui.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"loop_tui.cli.{module_name}":
                continue
            raise
        sub = module.register(subparsers)
        # Accept --workspace after the subcommand too; SUPPRESS keeps the global value when absent.
        _add_global_options(sub, default=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # args.workspace stays None unless --workspace was given: open_workspace(None) then resolves
    # LOOP_TUI_WORKSPACE or the user data dir, and seeds a new one with the sample data.
    func = getattr(args, "func", None)
    if func is None:  # plain `loop-tui [--page P] [--project NAME]` opens the app
        module = importlib.import_module("loop_tui.cli.app_cmd")
        func = module.run_app
    debug = bool(getattr(args, "debug", False))
    log_size = _failure_log_size() if debug else 0
    try:
        return int(func(args) or 0)
    except UserError as err:
        # The sentence may quote data (a project's name, a file's line): never let it act on the terminal.
        sys.stderr.write(f"loop-tui: {visible(str(err))}\n")
        return err.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("loop-tui: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    finally:
        if debug:  # after the app gave the terminal back, so the line stays on screen
            _name_failure_log(log_size)


def _failure_log_size() -> int:
    from loop_tui.ui.failures import log_path

    path = log_path()
    return path.stat().st_size if path.exists() else 0


def _name_failure_log(size_before: int) -> None:
    """`--debug`: say where the tracebacks of background failures go, and whether this run added any."""
    from loop_tui.ui.failures import log_path

    grew = _failure_log_size() != size_before
    note = "this run logged failures there" if grew else "nothing was logged this run"
    sys.stderr.write(f"loop-tui: failure log: {log_path()} ({note})\n")


if __name__ == "__main__":
    raise SystemExit(main())
