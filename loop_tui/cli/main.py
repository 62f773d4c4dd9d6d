"""Entry point of `loop-tui`: global options, subcommand discovery and error handling.

Each subcommand lives in its own module under `loop_tui.cli` and exposes
`register(subparsers) -> argparse.ArgumentParser`, setting `func(args) -> int` as the parser default.
Modules are imported lazily by name, only the one of the command being run (`parse_command_line`), so a
command starts without the others' imports and a missing optional layer never breaks the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Collection, Sequence

from loop_tui.errors import UserError
from loop_tui.safe_text import visible

# Subcommands in help order: the module that registers each one, and its line in `loop-tui --help` (the same
# text the module gives `add_parser`; tests/test_cli_lazy.py compares them). `main` imports only the module of
# the command it runs: all of them would cost every command ~0.1 s of start (ask_cmd alone brings asyncio).
# A module that does not exist yet is skipped.
COMMANDS: dict[str, tuple[str, str]] = {
    "app": ("app_cmd", "open the terminal app (the default when no command is given)"),
    "demo": ("demo_cmd", "write the sample workspace (two projects, logs, experiments, datasets)"),
    "projects": ("projects_cmd", "list projects with log, experiment and dataset counts"),
    "import": ("import_cmd", "import Braintrust-format rows from .jsonl, .csv or .parquet"),
    "serve": ("serve_cmd", "receive OpenTelemetry traces (OTLP/HTTP) into a project's logs"),
    "export": ("export_cmd", "export rows in Braintrust's row format (jsonl, csv, parquet)"),
    "history": ("history_cmd", "list recent writes, or undo one with --undo XACT"),
    "compact": ("compact_cmd", "fold many small segments into few large ones per object (keeps history)"),
    "doctor": ("doctor_cmd", "check every file of the workspace; --repair quarantines damaged segments and rebuilds"),
    "btql": ("btql_cmd", "run a BTQL or SQL query over the workspace"),
    "eval": ("eval_cmd", "run a prompt over a dataset with scorers and record an experiment"),
    "experiments": ("experiments_cmd", "list a project's experiments with their score means"),
    "ask": ("ask_cmd", "ask Loop, the assistant, one question headless"),
    "remote": ("remote_cmd", "Braintrust connection: check the key, list remote projects"),
    "sync": ("sync_cmd", "pull a Braintrust project into the workspace, push local changes back"),
}


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


def build_parser(load: Collection[str] | None = None) -> argparse.ArgumentParser:
    """Build the parser: every subcommand listed, those named in `load` (all when None) with their arguments.

    A subcommand not loaded is a placeholder with its help line only, so `loop-tui --help` reads the same
    without importing any command module.
    """
    parser = _Parser(prog="loop-tui", description="Evaluate and monitor LLM products from the terminal.")
    _add_global_options(parser, default=None)
    parser.add_argument("--page", choices=APP_PAGES, help="app: page to open first (default: logs)")
    parser.add_argument("--project", metavar="NAME", help="app: project to show first")
    parser.add_argument("--otlp", metavar="[HOST:]PORT", nargs="?", const="",
                        help="app: also receive OpenTelemetry traces (default 127.0.0.1:4318) into the logs page")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module_name, help_line) in COMMANDS.items():
        if load is not None and name not in load:
            subparsers.add_parser(name, help=help_line, add_help=False)
            continue
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


def parse_command_line(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse `argv`, importing only the module of the subcommand it names (none for the app or `--help`)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    # The first pass, with every subcommand a placeholder, finds which one is named: the subcommand's own
    # arguments are left over for the second pass. Its errors and `--help` are those of the full parser (they
    # concern the options before the subcommand, which both define alike).
    command = build_parser(load=()).parse_known_args(argv)[0].command
    return build_parser(load=() if command is None else (command,)).parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    args = parse_command_line(argv)
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
    except RuntimeError as exc:
        if exc.args != ("Query interrupted",):  # DuckDB's word for a Ctrl-C it caught during a query
            raise
        sys.stderr.write("loop-tui: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
    except MemoryError:  # e.g. a single line of many GB in an import (writes are all-or-nothing: none was kept)
        sys.stderr.write("loop-tui: ran out of memory; the command stopped (a write it had begun was not committed)\n")
        return 1
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
