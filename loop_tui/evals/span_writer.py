"""Buffer an eval run's spans and write them to the workspace in a few large writes, mostly off the critical path.

Store writes run in a thread while rows are still in flight, so only the last batch is waited for. A batch
is written once the buffer holds FLUSH_AHEAD times the spans the rest of the run will still produce (or
FLUSH_SPANS): batches shrink towards the end, so a run of 1,000 rows makes three writes (80%, 16%, the last
4%). Every write has a fixed cost (a segment file, fsyncs, a log entry), which is why there are not more.
Spans are validated as they arrive (between replies) and kept column by column (`store.batch.ColumnBatch`).
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

from loop_tui.errors import UserError
from loop_tui.store.batch import ColumnBatch
from loop_tui.store.schema import normalize_span

FLUSH_SPANS = 20_000
FLUSH_AHEAD = 4
MIN_FLUSH_SPANS = 240


class SpanWriter:
    """The write side of one experiment run: `add` spans per unit, `maybe_flush`, then `drain` at the end."""

    def __init__(self, workspace: Any, experiment_id: str, project_id: str, experiment_name: str) -> None:
        self.workspace = workspace
        self.experiment_id = experiment_id
        self.project_id = project_id
        self.experiment_name = experiment_name
        self.buffer = ColumnBatch("experiment")
        self.buffered_units = 0  # (row, trial) units whose spans are in the buffer
        self.writer: asyncio.Future[None] | None = None

    def add(self, spans: list[dict[str, Any]]) -> None:
        """Validate one unit's spans into the buffer (in the event loop: in a thread the same work holds the
        GIL just as long and also delays the loop by up to a switch interval each time)."""
        for span in spans:
            where = f"span {len(self.buffer) + 1}"
            try:
                record = normalize_span(span, where)
            except UserError:
                # A scorer's metadata (or a task's output) holding an object JSON cannot represent: keep
                # the row, with that value as its repr, rather than lose the run.
                record = normalize_span(json.loads(json.dumps(span, default=_storable)), where)
            self.buffer.append(record)
        self.buffered_units += 1

    def maybe_flush(self, units_left: int) -> None:
        """Start a background write if the buffer is big enough (see module doc); never two at once."""
        if self.writer is not None and not self.writer.done():
            return
        pending = len(self.buffer)
        spans_left = units_left * (pending / max(self.buffered_units, 1))
        if pending >= MIN_FLUSH_SPANS and pending >= min(FLUSH_SPANS, FLUSH_AHEAD * spans_left):
            self._flush_in_background()

    def _flush_in_background(self) -> None:
        spans = self._take()
        previous = self.writer

        async def write() -> None:
            if previous is not None:
                await previous
            await asyncio.to_thread(self._write, spans)

        self.writer = asyncio.ensure_future(write())

    async def drain(self) -> None:
        """Wait for background writes, then write what is left."""
        await self.wait_for_writer()
        self.flush()

    async def wait_for_writer(self) -> None:
        """Let a background write finish (even when cancelled: the store is atomic, and later writes must
        come after it)."""
        if self.writer is not None:
            writer, self.writer = self.writer, None
            if writer.done():
                writer.result()
            else:
                await asyncio.wait_for(asyncio.shield(writer), 60)

    def flush(self) -> None:
        """Write buffered spans now, in one store write."""
        self._write(self._take())

    def _take(self) -> ColumnBatch:
        spans, self.buffer, self.buffered_units = self.buffer, ColumnBatch("experiment"), 0
        return spans

    def _write(self, spans: ColumnBatch) -> None:
        if not len(spans):
            return
        self.workspace.append_batch(
            spans,
            self.experiment_id,
            project_id=self.project_id,
            description=f"experiment {self.experiment_name}: {len(spans)} spans",
        )


def _storable(value: Any) -> Any:
    """JSON for what `json` cannot encode: timestamps as ISO text, collections as lists, the rest as repr."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return repr(value)
