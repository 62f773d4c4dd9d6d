"""Running the playground's task as an experiment from a thread (own event loop), cancellable from
the UI thread. Plain Python: progress goes to a callback the screen turns into messages.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PlaygroundRun:
    """One run: what to run, and the handle to cancel it."""

    workspace: Any
    project_id: str
    prompt: Any  # evals.PromptSpec
    dataset_id: str
    scorers: list[str]
    model: str | None
    settings: Any
    base_id: str | None = None
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _task: asyncio.Task | None = field(default=None, repr=False)
    _cancelled: threading.Event = field(default_factory=threading.Event, repr=False)

    def run(self, on_progress: Callable[[Any], None]) -> Any:
        """Run to completion (or cancellation) in the calling thread; returns the ExperimentResult."""
        from loop_tui.evals import run_experiment

        async def main() -> Any:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.ensure_future(
                run_experiment(
                    self.workspace,
                    self.project_id,
                    self.prompt,
                    self.dataset_id,
                    self.scorers,
                    model=self.model,
                    concurrency=8,
                    base=self.base_id,
                    on_progress=on_progress,
                    settings=self.settings,
                    description="run from the playground",
                )
            )
            if self._cancelled.is_set():
                self._task.cancel()
            return await self._task

        try:
            return asyncio.run(main())
        except asyncio.CancelledError:
            return None

    def cancel(self) -> None:
        """Stop the run from another thread; rows finished so far stay recorded."""
        self._cancelled.set()
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)


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
