"""The receiver's writer: accepted spans are buffered and written to project logs in batches.

Requests hand over their (already validated) rows with `offer`, which takes all of a request or none
of it: when the buffer is full the request is refused and the HTTP layer answers 429 with Retry-After,
so memory stays bounded and an exporter's retry never duplicates or loses a span. One thread writes:
a batch is flushed every `flush_spans` spans or `flush_seconds` after its first span, as one
transaction per project (one segment, not one per span), and the logs are compacted now and then so a
receiver left running for days does not leave thousands of small files behind.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loop_tui.store.workspace import Workspace

TABLE = "project_logs"


@dataclass
class WriterStats:
    """Counters for the status line and the tests (read without the lock: approximate by design)."""

    accepted: int = 0  # spans taken from requests
    written: int = 0  # spans committed to the workspace
    waited_requests: int = 0  # requests that found the buffer full and waited for room
    refused_requests: int = 0  # requests answered 429 because the buffer stayed full
    writes: int = 0  # transactions (segments) committed
    failures: int = 0  # failed write attempts (retried)
    peak_backlog: int = 0  # most spans ever accepted and not yet written (what bounds memory)


class SpanWriter:
    """Buffers rows per project and writes them in batches on its own thread."""

    def __init__(
        self,
        ws: Workspace,
        *,
        max_pending_spans: int = 50_000,
        max_pending_bytes: int = 256 * 1024 * 1024,
        flush_spans: int = 5_000,
        flush_seconds: float = 0.2,
        compact_every: int = 200,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.ws = ws
        self.max_pending_spans = max_pending_spans
        self.max_pending_bytes = max_pending_bytes
        self.flush_spans = flush_spans
        self.flush_seconds = flush_seconds
        self.compact_every = compact_every
        self.stats = WriterStats()
        self._log = log or (lambda text: print(text, file=sys.stderr, flush=True))
        self._cond = threading.Condition()
        # Accepted requests in arrival order, each (rows, their size): queued whole, so taking a batch
        # and giving back its memory costs a step per request, not per span.
        self._pending: deque[tuple[list[tuple[str, dict[str, Any]]], int]] = deque()
        self._pending_spans = 0
        self._pending_bytes = 0
        self._first_pending_at: float | None = None
        self._in_flight = 0  # spans taken by the writer and not yet committed (count toward the bound)
        self._closing = False
        self._project_ids: dict[str, str] = {}
        self._writes_since_compact = 0
        self.on_room: Callable[[], None] | None = None  # called (on the writer thread) after each write
        self._thread = threading.Thread(target=self._run, name="otlp-writer", daemon=True)

    def log(self, text: str) -> None:
        """Report a line (stderr for `serve`; the app passes a callable that keeps the screen clean)."""
        self._log(text)

    # ----- producer side ---------------------------------------------------------------------------
    def start(self) -> SpanWriter:
        """Start the writer thread."""
        self._thread.start()
        return self

    def offer(self, rows: list[tuple[str, dict[str, Any]]], size: int | None = None) -> bool:
        """Take all of `rows` (project name, normalised row) or none; False when full or closing.

        `size` is `rows_bytes(rows)`, computed by the caller off the event loop (it costs a step per row).
        """
        if size is None:
            size = rows_bytes(rows)
        with self._cond:
            if self._closing:
                return False
            queued = self._pending_spans + self._in_flight
            if queued and (queued + len(rows) > self.max_pending_spans
                           or self._pending_bytes + size > self.max_pending_bytes):
                return False
            self._pending.append((rows, size))
            self._pending_spans += len(rows)
            self._pending_bytes += size
            self.stats.accepted += len(rows)
            self.stats.peak_backlog = max(self.stats.peak_backlog, queued + len(rows))
            if self._first_pending_at is None:  # the writer sleeps until a batch starts, then times it
                self._first_pending_at = time.monotonic()
                self._cond.notify()
            elif self._pending_spans >= self.flush_spans:
                self._cond.notify()
            return True

    def offer_refused(self) -> None:
        """Count a request the HTTP layer turned away because the buffer stayed full."""
        with self._cond:
            self.stats.refused_requests += 1

    @property
    def project_ids(self) -> list[str]:
        """The projects this writer has written to (it creates a project on its first span)."""
        return list(self._project_ids.values())

    @property
    def closing(self) -> bool:
        """True once `close` was called (requests are then answered 503)."""
        return self._closing

    @property
    def backlog(self) -> int:
        """Spans accepted and not yet written."""
        return self._pending_spans + self._in_flight

    def close(self, timeout: float = 30.0) -> bool:
        """Stop taking spans, write everything accepted, stop the thread; False if it did not finish in time."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive() and not self.backlog

    # ----- writer thread -----------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = 0.1
        while True:
            taken = self._next_batch()
            if taken is None:
                return
            batch = [row for rows, _ in taken for row in rows]
            try:
                self._write(batch)
                backoff = 0.1
            except Exception as exc:  # a full disk or a lock timeout: keep the spans and try again
                self.stats.failures += 1
                self._log(f"loop-tui serve: writing {len(batch)} spans failed ({exc}); retrying")
                with self._cond:
                    self._pending.extendleft(reversed(taken))
                    self._pending_spans += len(batch)
                    self._in_flight = 0
                    if self._closing and self.stats.failures > 20:
                        self._log(f"loop-tui serve: giving up on {self._pending_spans} spans at shutdown")
                        self._pending.clear()
                        self._pending_spans = self._pending_bytes = 0
                        return
                    self._cond.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            with self._cond:
                self._in_flight = 0
                self._pending_bytes = max(self._pending_bytes - sum(size for _, size in taken), 0)
            if self.on_room is not None:
                try:
                    self.on_room()
                except RuntimeError:  # the server's event loop has closed: nobody is waiting any more
                    pass
            if not self._closing and self._writes_since_compact >= self.compact_every:
                self._compact()

    def _next_batch(self) -> list[tuple[list[tuple[str, dict[str, Any]]], int]] | None:
        """Wait until a batch is due (size, age or shutdown) and take it, as whole requests; None when
        closed and drained."""
        with self._cond:
            while True:
                if self._pending:
                    age = time.monotonic() - (self._first_pending_at or time.monotonic())
                    if self._closing or self._pending_spans >= self.flush_spans or age >= self.flush_seconds:
                        break
                    self._cond.wait(self.flush_seconds - age)
                elif self._closing:
                    return None
                else:
                    self._cond.wait()
            taken = []
            spans = 0
            while self._pending and (not taken or spans + len(self._pending[0][0]) <= self.flush_spans * 4):
                request = self._pending.popleft()
                taken.append(request)
                spans += len(request[0])
            self._pending_spans -= spans
            self._in_flight = spans
            self._first_pending_at = time.monotonic() if self._pending else None
            return taken

    def _write(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        by_project: dict[str, dict[str, dict[str, Any]]] = {}
        for project, row in batch:
            by_project.setdefault(project, {})[row["id"]] = row  # a span sent twice in a batch is stored once
        for project, rows in by_project.items():
            project_id = self._project_id(project)
            # The store stamps the records it is given (project, xact): a retry after a failure stamps
            # them again, so they need no copy.
            records = list(rows.values())
            self.ws.append_rows(TABLE, project_id, records, project_id=project_id, op="otlp",
                                description=f"otlp: {len(records)} spans")
            self.stats.writes += 1
            self._writes_since_compact += 1
        self.stats.written += len(batch)

    def _project_id(self, name: str) -> str:
        cached = self._project_ids.get(name)
        if cached:
            return cached
        project, _ = self.ws.ensure_project(name)  # atomic: racing processes get the one project
        self._project_ids[name] = project.id
        return project.id

    def _compact(self) -> None:
        try:
            self.ws.compact(TABLE)
        except Exception as exc:  # compaction is housekeeping: the data is already safe
            self._log(f"loop-tui serve: compacting the logs failed ({exc}); will try again later")
        self._writes_since_compact = 0


_BIG_TEXT_COLUMNS = ("input", "output", "metadata", "error", "expected")


def rows_bytes(rows: list[tuple[str, dict[str, Any]]]) -> int:
    """Roughly what normalised rows hold in memory: ~1 KB of dict, ids and numbers each, plus their JSON text."""
    return 1000 * len(rows) + sum([len(text) for _, row in rows for name in _BIG_TEXT_COLUMNS
                                   if (text := row.get(name))])
