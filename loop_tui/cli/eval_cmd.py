"""`loop-tui eval`: run a prompt over a dataset with scorers, record an experiment, print the summary.

Exit codes: 0 every row ran and was scored; 2 bad input (nothing ran); 3 the run finished but some rows
failed (the task, or a scorer); 4 the run stopped early because the model endpoint failed every request the
same way (see `evals.schedule.CircuitBreaker`); 130 ctrl+c; 143 SIGTERM. After ctrl+c or SIGTERM the rows
finished so far are kept (ctrl+c marks the experiment cancelled, SIGTERM interrupted), as after `kill -9`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Coroutine
from typing import Any

EXIT_ROWS_FAILED = 3
EXIT_STOPPED = 4
EXIT_TERMINATED = 128 + 15  # the shell's code for a process ended by SIGTERM


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `eval` subcommand."""
    parser = subparsers.add_parser(
        "eval",
        help="run a prompt over a dataset with scorers and record an experiment",
        description="Run a prompt over a dataset with scorers, record the run as an experiment, and "
        "print its summary compared with the base experiment.",
    )
    parser.add_argument("--project", required=True, help="project name or id")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--prompt", metavar="NAME", help="a prompt saved in the project")
    source.add_argument(
        "--prompt-file", metavar="FILE", help="a prompt file (JSON, or YAML): messages, model, params"
    )
    source.add_argument(
        "--rerun",
        metavar="EXP",
        help="re-run an experiment exactly (its prompt, model, parameters, trials, scorers and the dataset "
        "as it was) and compare with it; --model / --judge-model swap only those models",
    )
    parser.add_argument("--dataset", help="dataset name or id in the project (not with --rerun)")
    parser.add_argument(
        "--scorer",
        action="append",
        default=[],
        metavar="NAME",
        help="built-in scorer or one saved in the project (repeatable)",
    )
    parser.add_argument("--model", help="model name or provider/model id (default: the prompt's model)")
    parser.add_argument("--judge-model", help="model for LLM-judge scorers that name none (default: --model)")
    parser.add_argument("--concurrency", type=int, default=10, help="rows run at once (default 10)")
    parser.add_argument("--trials", type=int, default=1, help="times each row is run (default 1)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="per-row time limit")
    parser.add_argument("--name", help="experiment name (default: <prompt>-<timestamp>)")
    parser.add_argument(
        "--base",
        metavar="EXP",
        help="experiment to compare with (default: the previous one on the same dataset)",
    )
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.set_defaults(func=run)
    return parser


class ProgressBar:
    """A one-line progress bar on stderr, redrawn at most ~10 times a second (only on a terminal)."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.last = 0.0
        self.started = time.monotonic()

    def __call__(self, event: Any) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.1 and event.done < event.total):
            return
        self.last = now
        width = 30
        filled = int(width * event.done / max(event.total, 1))
        cost = f" · ${event.running_cost:.4f}" if event.running_cost else ""
        errors = f" · {event.errors} error{'s' if event.errors != 1 else ''}" if event.errors else ""
        self.stream.write(
            f"\r[{'#' * filled}{'-' * (width - filled)}] {event.done}/{event.total} rows"
            f"{errors}{cost} · {now - self.started:.1f}s\x1b[K"
        )
        if event.done >= event.total:
            self.stream.write("\n")
        self.stream.flush()


def _load_prompt(args: argparse.Namespace, ws: Any, project_id: str) -> Any:
    from loop_tui.evals.prompt import PromptSpec

    if args.prompt_file:
        return PromptSpec.from_file(args.prompt_file)
    return PromptSpec.from_object(ws.get_object("prompt", project_id, args.prompt))


def run(args: argparse.Namespace) -> int:
    """Run the eval (or re-run an experiment) and print the summary."""
    from loop_tui.cli.output import print_json
    from loop_tui.config import load_settings
    from loop_tui.errors import UserError
    from loop_tui.evals.summary import summarize
    from loop_tui.safe_text import visible
    from loop_tui.store import open_workspace

    if args.concurrency < 1:
        raise UserError("--concurrency must be at least 1")
    if args.trials < 1:
        raise UserError("--trials must be at least 1")
    if args.timeout is not None and args.timeout <= 0:
        raise UserError("--timeout must be a positive number of seconds")
    settings = load_settings()
    for given in (args.model, args.judge_model):
        if given:
            from loop_tui.llm import resolve_model

            resolve_model(given, settings)  # unknown, or outside models.allowlist: one sentence, exit 2
    ws = open_workspace(args.workspace)
    project = ws.project(args.project)
    try:
        result = _rerun(args, ws, project, settings) if args.rerun else _run(args, ws, project, settings)
    except Terminated:
        _end_progress_line()
        sys.stderr.write("loop-tui: terminated; the rows finished so far are kept and the experiment is marked "
                         "interrupted\n")
        return EXIT_TERMINATED
    if result.stopped:
        _end_progress_line()
    summary = summarize(ws, result.experiment_id, result.base_id)
    failed = [r for r in result.rows if r.error]
    if failed:
        sys.stderr.write(
            f"loop-tui: {len(failed)} of {len(result.rows)} rows failed; first error: {visible(failed[0].error)}\n"
        )
    if args.format == "json":
        for name, (count, first) in summary.scorer_errors.items():
            sys.stderr.write(f"loop-tui: scorer {name!r} failed on {count} rows; first error: {visible(first)}\n")
        print_json(summary.to_json())
    else:
        sys.stdout.write(visible(str(summary).lstrip("\n")) + "\n")  # names and errors come from data
    if result.stopped:
        sys.stderr.write(f"loop-tui: the run {visible(result.stopped)}\n")
        return EXIT_STOPPED
    return EXIT_ROWS_FAILED if failed or summary.scorer_errors else 0


def _end_progress_line() -> None:
    """Start a new line after a progress bar a run left unfinished (it ends its line only at the last row)."""
    if sys.stderr.isatty():
        sys.stderr.write("\n")


class Terminated(Exception):
    """The process got SIGTERM during the run (which ended marked interrupted, keeping its finished rows)."""


def _run_to_end(coro: Coroutine[Any, Any, Any]) -> Any:
    """`asyncio.run(coro)`, with SIGTERM ending the run as a cancellation does (rows kept, marked interrupted)
    instead of killing the process with the run's last rows unwritten."""
    import asyncio
    import contextlib
    import signal

    from loop_tui.evals.schedule import INTERRUPTED
    from loop_tui.gc_pause import collect_only_new_objects

    async def main() -> Any:
        task = asyncio.current_task()
        assert task is not None
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # no loop signal handlers here
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel, INTERRUPTED)
        return await coro

    try:
        # The command owns its process: collections skip the heap that existed before the run (see gc_pause).
        with collect_only_new_objects():
            return asyncio.run(main())
    except asyncio.CancelledError as exc:
        if INTERRUPTED in exc.args:
            raise Terminated from None
        raise


def _model_unavailable_for_cli(run: Any) -> Any:
    """Run `run()`; a model that cannot be called is reported with the command line's advice (--model)."""
    from loop_tui.errors import UserError
    from loop_tui.evals.model_call import ModelUnavailable

    try:
        return run()
    except ModelUnavailable as err:
        raise UserError(err.advice("cli")) from None


def _run(args: argparse.Namespace, ws: Any, project: Any, settings: Any) -> Any:
    from loop_tui.errors import UserError
    from loop_tui.evals.runner import run_eval
    from loop_tui.evals.spec import EvalSpec

    if not args.dataset:
        raise UserError("--dataset is required (the dataset to run the prompt over)")
    prompt = _load_prompt(args, ws, project.id)
    if not (args.model or prompt.model):
        raise UserError("the prompt names no model; pass --model (e.g. --model openai/gpt-4o-mini)")
    spec = EvalSpec(
        project.id,
        prompt,
        args.dataset,
        list(args.scorer),
        model=args.model,
        concurrency=args.concurrency,
        trials=args.trials,
        name=args.name,
        base=args.base,
        settings=settings,
        judge_model=args.judge_model,
        row_timeout_s=args.timeout,
    )
    return _model_unavailable_for_cli(lambda: _run_to_end(run_eval(ws, spec, on_progress=ProgressBar())))


def _rerun(args: argparse.Namespace, ws: Any, project: Any, settings: Any) -> Any:
    from loop_tui.errors import UserError
    from loop_tui.evals.rerun import plan_rerun, rerun_experiment
    from loop_tui.safe_text import visible

    given = (("--dataset", args.dataset), ("--scorer", args.scorer), ("--trials", args.trials != 1),
             ("--base", args.base))
    clashes = [flag for flag, value in given if value]
    if clashes:
        raise UserError(f"--rerun repeats the experiment as it was; drop {', '.join(clashes)} (only --model, "
                        "--judge-model, --name, --concurrency and --timeout can change)")
    plan = plan_rerun(ws, project.id, args.rerun, model=args.model, judge_model=args.judge_model, settings=settings)
    for note in plan.notes:
        sys.stderr.write(visible(f"loop-tui: re-running {args.rerun}: {note}") + "\n")  # notes name scorers
    return _model_unavailable_for_cli(lambda: _run_to_end(
        rerun_experiment(
            ws, project.id, args.rerun, model=args.model, name=args.name, concurrency=args.concurrency,
            on_progress=ProgressBar(), settings=settings, row_timeout_s=args.timeout, plan=plan,
        )
    ))
