"""How an experiment run schedules its units (one row × one trial) and how it ends, whatever happens.

`concurrency` workers take units in order. A worker awaits the unit's task (and any scorer that calls a
model), then queues the CPU-only tail (in-process scorers, spans into the write buffer) as an event-loop
callback and goes straight on to its next unit: its next request is sent before the tail runs, so the
model endpoint stays busy and the tail fills the wait for replies. Workers rather than a task per unit,
because thousands of waiting tasks are objects every garbage collection walks.

A run against an endpoint that fails every request stops early instead of retrying through every row: the
`CircuitBreaker` trips after `max(5, concurrency)` units in a row (in the order they finish) whose model call
failed the same way (see its doc). The units still in flight are cancelled, the rest are not run, and the
run ends `failed` with `result.stopped` saying why; it is an outcome, not an exception.

The end always runs to completion, even if the caller cancels again while it runs (a second ctrl+g): the
units already finished are scored and buffered, background writes are waited for, what is left is
written, and the experiment is marked `completed`, `cancelled` or `failed` with the number of rows that
are really stored. Then the cancellation, or the first failure, is raised. A cancellation whose message is
`INTERRUPTED` (the process was told to stop, e.g. SIGTERM) marks it `interrupted` instead of `cancelled`, as
a run whose process died is shown (see `experiments.run_status`).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loop_tui.evals.runner import RowResult

Finish = Callable[[str, int], Awaitable[None]]
INTERRUPTED = "interrupted"  # the cancel message that marks a run interrupted (see the module doc)


@dataclass
class Progress:
    """A progress event: sent after every finished row."""

    total: int
    done: int
    errors: int
    running_cost: float
    row: RowResult | None = None


class CircuitBreaker:
    """Trips when the model endpoint fails every request the same way (a bad key, a server that is down).

    The rule: `limit` units in a row, in the order they finish, whose model call (the task's, else a judge's)
    failed with the same kind (`auth`, `connection`, `server`, `timeout`, …) trip it; a unit whose model calls
    succeeded, or that failed another way, starts the count again. A prompt too long for the model is about
    its row and never counts (see `runner.failure_kind`). The limit is `max(5, concurrency)`: one outage fails
    every request in flight at once, so a full wave of them (and never fewer than five) must fail alike.
    """

    def __init__(self, concurrency: int) -> None:
        self.limit = max(5, concurrency)
        self.kind: str | None = None
        self.streak = 0
        self.last_error: str | None = None

    def record(self, kind: str | None, error: str | None) -> bool:
        """Count one finished unit; True once the breaker has tripped."""
        if kind is None:
            self.kind, self.streak = None, 0
            return False
        if kind != self.kind:
            self.kind, self.streak = kind, 0
        self.streak += 1
        self.last_error = error
        return self.streak >= self.limit

    def reason(self, not_run: int) -> str:
        """Why the run stopped, in one sentence."""
        rest = f"; the other {not_run} were not run" if not_run else ""
        return (f"stopped early: {self.streak} rows in a row failed the same way ({self.kind}){rest}. "
                f"Last error: {self.last_error}")


class _Units:
    """The state shared by the workers and the finishing callbacks of one run."""

    def __init__(
        self, run: Any, result: Any, total: int, on_progress: Callable[[Any], Any] | None, concurrency: int
    ) -> None:
        self.run = run
        self.result = result
        self.total = total
        self.on_progress = on_progress
        self.finished: deque[tuple[Any, ...]] = deque()  # units whose waiting part is done
        self.progress_calls: set[asyncio.Future[Any]] = set()
        self.failures: list[BaseException] = []
        self.breaker = CircuitBreaker(concurrency)
        self.stopped: str | None = None  # why the breaker stopped the run
        self.started = 0  # units taken by a worker
        self.workers: list[asyncio.Future[None]] = []

    def finish_one(self) -> None:
        """Score one finished unit and buffer its spans (an event-loop callback, see the module doc)."""
        if not self.finished:
            return
        try:
            row = self.run.finish_unit(*self.finished.popleft())
            self.result.rows.append(row)
            self.run.spans.maybe_flush(self.total - len(self.result.rows))
            if self.on_progress is not None:
                event = Progress(self.total, len(self.result.rows), self.run.errors, self.run.cost, row)
                maybe = self.on_progress(event)
                if inspect.isawaitable(maybe):
                    future = asyncio.ensure_future(maybe)
                    self.progress_calls.add(future)
                    future.add_done_callback(self._progress_done)
        except Exception as exc:  # a bug, or a progress callback that failed: stop the run and report it
            self.failures.append(exc)

    def _progress_done(self, future: asyncio.Future[Any]) -> None:
        self.progress_calls.discard(future)
        if not future.cancelled() and future.exception() is not None:
            self.failures.append(future.exception())  # type: ignore[arg-type]

    async def worker(self, units: Any) -> None:
        loop = asyncio.get_running_loop()
        for index, trial, row in units:  # a shared generator: each unit goes to exactly one worker
            if self.failures or self.stopped is not None:
                return
            self.started += 1
            start = time.time()
            task, waited, kind = await self.run.run_waiting(row)
            self.finished.append((index, trial, row, start, task, waited))
            loop.call_soon(self.finish_one)
            error = task.error or next((o.error for o in waited.values() if o.error), None)
            if self.breaker.record(kind, error) and self.stopped is None:
                self._stop()
                return

    def _stop(self) -> None:
        """The breaker tripped: cancel the units in flight (they would fail the same way) and take no more."""
        in_flight = sum(1 for w in self.workers if not w.done()) - 1  # every other worker holds one unit
        self.stopped = self.breaker.reason(self.total - self.started + max(in_flight, 0))
        current = asyncio.current_task()
        for worker in self.workers:
            if worker is not current:
                worker.cancel()


async def execute(
    run: Any,
    result: Any,
    units: list[tuple[int, int, dict[str, Any]]],
    concurrency: int,
    on_progress: Callable[[Any], Any] | None,
    finish: Finish,
) -> None:
    """Run every unit, then end the run with `finish(status, rows_written)` (see the module doc)."""
    state = _Units(run, result, len(units), on_progress, concurrency)
    pending = iter(units)
    workers: list[asyncio.Future[None]] = [
        asyncio.ensure_future(state.worker(pending)) for _ in range(min(concurrency, len(units)))
    ]
    state.workers = workers
    cancelled = interrupted = False
    try:
        await asyncio.wait(workers)  # unlike gather, a worker the breaker cancelled does not cancel the run
        for worker in workers:
            if not worker.cancelled() and worker.exception() is not None:
                state.failures.append(worker.exception())  # type: ignore[arg-type]  # a bug: end the run failed
        await asyncio.sleep(0)  # the last queued `finish_one` callbacks
        if state.progress_calls:
            await asyncio.gather(*state.progress_calls, return_exceptions=True)  # failures: `_progress_done`
    except asyncio.CancelledError as exc:
        cancelled, interrupted = True, INTERRUPTED in exc.args
    how = "interrupted" if interrupted else "cancelled" if cancelled else None
    ending = asyncio.ensure_future(_end(state, workers, how, finish))
    while True:
        try:
            error = await asyncio.shield(ending)
            break
        except asyncio.CancelledError as exc:
            cancelled = True  # cancelled again while ending: the ending still completes, then we stop
            interrupted = interrupted or INTERRUPTED in exc.args
    if cancelled:
        raise asyncio.CancelledError(INTERRUPTED) if interrupted else asyncio.CancelledError()
    if error is not None:
        raise error


async def _end(
    state: _Units, workers: list[asyncio.Future[None]], cancelled: str | None, finish: Finish
) -> BaseException | None:
    """Stop what still runs, store everything finished, record how the run ended (`cancelled`: "cancelled" or
    "interrupted" when the caller stopped it); return the failure."""
    run = state.run
    for worker in workers:
        worker.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    while state.finished:  # units whose model calls completed before a cancel or a failure: keep them
        state.finish_one()
    if cancelled:
        for call in state.progress_calls:
            call.cancel()
    await asyncio.gather(*state.progress_calls, return_exceptions=True)
    await run.spans.wait_for_writer()
    write_error: BaseException | None = None
    try:
        run.spans.flush()
    except Exception as exc:
        write_error = exc
    failure = state.failures[0] if state.failures else write_error
    stopped = failure is not None or state.stopped is not None
    status = cancelled or ("failed" if stopped else "completed")
    state.result.stopped = state.stopped
    state.result.rows.sort(key=lambda r: (r.index, r.trial))
    state.result.errors, state.result.total_cost = run.errors, run.cost
    try:
        await finish(status, run.spans.units_written)
    except Exception as exc:
        failure = failure or exc
    return failure

