"""Running an eval (the playground's task, or a re-run of an experiment) from a thread with its own event loop,
cancellable from the UI thread. Plain Python: progress goes to a callback the screen turns into messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any

Progress = Callable[[Any], None]


class BackgroundEval:
    """One run: `start(on_progress)` makes the coroutine (a `run_experiment` call); `cancel` stops it.
    `advice_for` is where a model that cannot be called is explained (see `ModelUnavailable.advice`)."""

    def __init__(self, start: Callable[[Progress], Awaitable[Any]], advice_for: str = "app") -> None:
        self._start = start
        self.advice_for = advice_for
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Future[Any] | None = None
        self._cancelled = threading.Event()

    def run(self, on_progress: Progress) -> Any:
        """Run to completion (or cancellation) in the calling thread; returns the ExperimentResult."""

        async def main() -> Any:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.ensure_future(self._start(on_progress))
            if self._cancelled.is_set():
                self._task.cancel()
            return await self._task

        from loop_tui.gc_pause import collect_only_new_objects

        try:
            with collect_only_new_objects():  # the app opts in to short collections during a run (see gc_pause)
                return asyncio.run(main())
        except asyncio.CancelledError:
            return None

    def run_and_report(self, on_progress: Progress, on_end: Callable[[Any, str | None], None]) -> None:
        """`run`, then `on_end(result, None)`, or `on_end(None, message)` if it could not run (no key, a bad
        scorer: a `UserError`, one sentence)."""
        from loop_tui.evals.model_call import ModelUnavailable

        try:
            result = self.run(on_progress)
        except ModelUnavailable as exc:
            on_end(None, exc.advice(self.advice_for))
            return
        except Exception as exc:  # noqa: BLE001 - shown to the user as one sentence
            on_end(None, str(exc))
            return
        on_end(result, None)

    def cancel(self) -> None:
        """Stop the run from another thread; rows finished so far stay recorded."""
        self._cancelled.set()
        loop = self._loop
        if loop is not None and self._task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the run ended (and its loop closed) meanwhile
                loop.call_soon_threadsafe(self._task.cancel)


def playground_run(
    workspace: Any, project_id: str, prompt: Any, dataset_id: str, scorers: list[str], model: str | None,
    settings: Any, base_id: str | None = None,
) -> BackgroundEval:
    """The playground's task over its dataset with the chosen scorers."""

    def start(on_progress: Progress) -> Awaitable[Any]:
        from loop_tui.evals import EvalSpec, run_eval

        spec = EvalSpec(project_id, prompt, dataset_id, list(scorers), model=model, concurrency=8, base=base_id,
                        settings=settings, description="run from the playground")
        return run_eval(workspace, spec, on_progress=on_progress)

    return BackgroundEval(start, advice_for="playground")


def produced_nothing(result: Any) -> bool:
    """Whether a run has no row that ran without an error (every request failed, or none finished)."""
    return not any(row.error is None for row in result.rows)


def discard_if_empty(workspace: Any, result: Any) -> int | None:
    """Delete the experiment of a run that produced nothing, so a failed run does not top the experiment list;
    returns the deleting write, which `keep_discarded` undoes (None: kept, or the delete itself failed)."""
    if result is None or not produced_nothing(result):
        return None
    try:
        return int(workspace.delete_object(result.experiment_id))
    except Exception:  # noqa: BLE001 - the store refused (locked, full disk): the run stays, as it ran
        return None


def keep_discarded(workspace: Any, discarded_by: int) -> None:
    """Bring back an experiment `discard_if_empty` deleted (the user asked to keep the failed run)."""
    workspace.undo(discarded_by)


def experiment_rerun(
    workspace: Any, project_id: str, experiment_id: str, settings: Any, plan: Any = None
) -> BackgroundEval:
    """An experiment again, exactly as it ran (see `evals.rerun`); `plan` is the one the user confirmed."""

    def start(on_progress: Progress) -> Awaitable[Any]:
        from loop_tui.evals.rerun import rerun_experiment

        return rerun_experiment(workspace, project_id, experiment_id, concurrency=8, on_progress=on_progress,
                                settings=settings, plan=plan)

    return BackgroundEval(start)


def row_details(row: Any) -> str:
    """One finished row in full, for reading (the row number is the view's title): its error first, then input,
    output, expected and scores."""
    from loop_tui.ui.formatting import pretty_json

    parts = [f"trial {row.trial + 1}"] if row.trial else []
    if row.error:
        parts.append(f"error\n{row.error}")
    for name, value in (("input", row.input), ("output", row.output), ("expected", row.expected)):
        if value is not None:
            parts.append(f"{name}\n{pretty_json(value)}")
    if row.scores:
        parts.append("scores\n" + "\n".join(
            f"{name}: {'skipped' if value is None else f'{value:.2f}'}" for name, value in sorted(row.scores.items())
        ))
    for name, error in sorted(row.scorer_errors.items()):
        parts.append(f"scorer {name} failed\n{error}")
    return "\n\n".join(parts)


def result_rows_table(rows: list[Any]) -> Any:
    """Display table of finished rows (input, output, error, each score), in dataset order."""
    import pyarrow as pa

    from loop_tui.ui.formatting import fmt_duration, preview

    rows = sorted(rows, key=lambda r: (r.index, r.trial))
    names = sorted({n for r in rows for n in r.scores})
    columns: dict[str, list[str]] = {
        "#": [str(r.index + 1) for r in rows],
        "input": [preview(r.input, 36) for r in rows],
        "output": [preview(r.output, 40) for r in rows],
        "expected": [preview(r.expected, 24) for r in rows],
        "error": [preview(r.error, 24) for r in rows],
    }
    for name in names:
        columns[name] = ["" if r.scores.get(name) is None else f"{r.scores[name]:.2f}" for r in rows]
    columns["duration"] = [fmt_duration(r.metrics.get("duration")) for r in rows]
    return pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})
