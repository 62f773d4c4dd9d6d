"""Buffer an eval run's spans and write them to the workspace in a few large writes, mostly off the critical path.

Store writes run in a thread while rows are still in flight, so only the last batch is waited for. A batch
is written once the buffer holds FLUSH_AHEAD times the spans the rest of the run will still produce (or
FLUSH_SPANS): batches shrink towards the end, so a run of 1,000 rows makes three writes (80%, 16%, the last
4%). Every write has a fixed cost (a segment file, fsyncs, a log entry), which is why there are not more.
Spans are validated as they arrive (between replies) and kept column by column (`store.batch.ColumnBatch`).

A batch is also written once its oldest row has waited `flush_delay()` — 2 s, growing to a tenth of the time
the run has taken so far, at most 30 s — so a run that is killed (`kill -9`, a power cut) keeps what finished
before the last few seconds (or the last tenth of a long run), while a long run makes few writes.

A background write that fails (the disk is full, another process held the writer lock too long) loses
nothing: its batch is kept, no further background write starts, and `flush` tries every kept batch again
at the end of the run; only what is then still unwritten is lost, and `units_written` says how much is in.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import Any

from loop_tui.errors import UserError
from loop_tui.store.batch import ColumnBatch
from loop_tui.store.schema import normalize_span

log = logging.getLogger("loop_tui.evals")

FLUSH_SPANS = 20_000
FLUSH_AHEAD = 4
MIN_FLUSH_SPANS = 240
FLUSH_AFTER_S = 2.0  # the longest a finished row waits for its write early in a run
FLUSH_AFTER_MAX_S = 30.0
_ROOT_FIELDS = ("id", "span_id", "root_span_id", "created", "span_attributes", "input", "expected", "metrics")


class SpanWriter:
    """The write side of one experiment run: `add` spans per unit, `maybe_flush`, then `wait_for_writer` and
    `flush` at the end."""

    def __init__(self, workspace: Any, experiment_id: str, project_id: str, experiment_name: str) -> None:
        self.workspace = workspace
        self.experiment_id = experiment_id
        self.project_id = project_id
        self.experiment_name = experiment_name
        self.buffer = ColumnBatch("experiment")
        self.buffered_units = 0  # (row, trial) units whose spans are in the buffer
        self.units_written = 0
        self.unwritten: list[tuple[ColumnBatch, int]] = []  # batches a background write failed to store
        self.error: BaseException | None = None  # the first write failure
        self.writer: asyncio.Future[None] | None = None
        self.started = time.monotonic()
        self.timer: asyncio.TimerHandle | None = None  # the write of the oldest buffered row's deadline

    def flush_delay(self) -> float:
        """How long a finished row may wait in the buffer (see the module doc)."""
        return min(FLUSH_AFTER_MAX_S, max(FLUSH_AFTER_S, (time.monotonic() - self.started) / 10))

    def add(self, spans: list[dict[str, Any]]) -> None:
        """Validate one unit's spans into the buffer, all or none.

        Runs in the event loop: in a thread the same work holds the GIL just as long and also delays the loop
        by up to a switch interval each time. A value JSON cannot represent (a scorer's metadata holding an
        arbitrary object) is stored as its repr rather than lose the row.
        """
        try:
            records = [normalize_span(span, f"span {n}") for n, span in enumerate(spans, 1)]
        except UserError:
            records = self._storable_records(spans)
        for record in records:
            self.buffer.append(record)
        self.buffered_units += 1
        if self.timer is None:
            self._start_timer()

    def _start_timer(self, delay: float | None = None) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # used outside a run's event loop: only the size rule and `flush` write
            return
        self.timer = loop.call_later(self.flush_delay() if delay is None else delay, self._on_timer)

    def _on_timer(self) -> None:
        """The oldest buffered row has waited long enough: write the buffer, or check again after a write
        that is still going."""
        self.timer = None
        if self.error is not None or not self.buffered_units:
            return
        if self.writer is not None and not self.writer.done():
            self._start_timer(0.25)
            return
        self.writer = asyncio.ensure_future(self._write_in_background(self._take()))

    @staticmethod
    def _storable_records(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
        try:
            return [normalize_span(_jsonable(span), f"span {n}") for n, span in enumerate(spans, 1)]
        except UserError as exc:  # still unstorable (a number field that is not a number): keep the row
            root = {k: spans[0].get(k) for k in _ROOT_FIELDS}
            root["error"] = f"this row's results could not be stored: {exc}"
            return [normalize_span(_jsonable(root), "span 1")]

    def maybe_flush(self, units_left: int) -> None:
        """Start a background write if the buffer is big enough (see module doc); never two at once, and
        none after a failed one."""
        if self.error is not None or (self.writer is not None and not self.writer.done()):
            return
        pending = len(self.buffer)
        spans_left = units_left * (pending / max(self.buffered_units, 1))
        if pending >= MIN_FLUSH_SPANS and pending >= min(FLUSH_SPANS, FLUSH_AHEAD * spans_left):
            batch = self._take()
            self.writer = asyncio.ensure_future(self._write_in_background(batch))

    def _stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    async def _write_in_background(self, batch: tuple[ColumnBatch, int]) -> None:
        try:
            await asyncio.to_thread(self._write, batch)
        except Exception as exc:  # kept for `flush`, which tries again
            log.warning("writing %d spans of experiment %s failed; retrying at the end: %s",
                        len(batch[0]), self.experiment_name, exc)
            self.error = self.error or exc
            self.unwritten.append(batch)

    async def wait_for_writer(self) -> None:
        """Let a background write finish. The store is atomic and later writes must come after it, so the
        write is awaited even when the caller is cancelled (the future is kept until it is done)."""
        self._stop_timer()  # the end writes what is left
        if self.writer is not None:
            await asyncio.shield(self.writer)
            self.writer = None

    def flush(self) -> None:
        """Write what a failed background write kept, then the buffer; raises if a write still fails."""
        pending = [*self.unwritten, self._take()]
        self.unwritten = []
        for n, batch in enumerate(pending):
            try:
                self._write(batch)
            except Exception:
                self.unwritten = pending[n:]
                raise

    def _take(self) -> tuple[ColumnBatch, int]:
        self._stop_timer()  # the next row to arrive starts the clock again
        taken = (self.buffer, self.buffered_units)
        self.buffer, self.buffered_units = ColumnBatch("experiment"), 0
        return taken

    def _write(self, batch: tuple[ColumnBatch, int]) -> None:
        spans, units = batch
        if len(spans):
            self.workspace.append_batch(
                spans,
                self.experiment_id,
                project_id=self.project_id,
                description=f"experiment {self.experiment_name}: {len(spans)} spans",
            )
        self.units_written += units


def _jsonable(value: Any, seen: frozenset[int] = frozenset()) -> Any:
    """`value` with everything JSON cannot hold made representable: keys as text, timestamps as ISO text,
    sets and tuples as lists, cycles and unknown objects as their repr."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list | tuple | set | frozenset):
        if id(value) in seen:
            return "<cycle>"
        inner = seen | {id(value)}
        if isinstance(value, dict):
            return {str(k): _jsonable(v, inner) for k, v in value.items()}
        return [_jsonable(v, inner) for v in value]
    return repr(value)
