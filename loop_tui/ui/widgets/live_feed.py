"""`LiveFeed`: the logs page's "● live" line while an OpenTelemetry receiver feeds the workspace.

The app started with `--otlp` holds the receiver as `app.otlp_receiver`. Once a second the widget reads
the receiver's counters (plain integers, read without a lock) and shows the spans stored per second;
when spans were stored since the last look it posts `LiveFeed.Arrived` so the page can re-read its rows,
and has the app re-read its projects when the receiver made a new one (a new `service.name`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from textual.message import Message
from textual.widgets import Label


class LiveFeed(Label):
    """"● live · http://127.0.0.1:4318 · 12 spans/s · 1,204 received" while a receiver runs; hidden otherwise."""

    DEFAULT_CSS = """
    LiveFeed { color: $success; height: 1; padding: 0 1; }
    """

    @dataclass
    class Arrived(Message):
        """Spans were stored since the last tick."""

        stored: int

    def __init__(self, *, interval: float = 1.0, id: str | None = None) -> None:  # noqa: A002
        super().__init__("", id=id)
        self.interval = interval
        self._last_written = 0
        self._last_time = time.monotonic()

    def on_mount(self) -> None:
        receiver = getattr(self.app, "otlp_receiver", None)
        self.display = receiver is not None
        if receiver is not None:
            self._last_written = receiver.writer.stats.written
            self.update(f"● live · receiving OpenTelemetry traces at {receiver.endpoint}")
            self.set_interval(self.interval, self._tick)

    def _tick(self) -> None:
        stats = self.app.otlp_receiver.writer.stats  # type: ignore[attr-defined]
        now = time.monotonic()
        written = stats.written
        rate = (written - self._last_written) / max(now - self._last_time, 1e-3)
        busy = " · busy: exporters told to retry" if stats.refused_requests else ""
        # The address stays on the line: it is what the user's OTEL_EXPORTER_OTLP_ENDPOINT must name.
        endpoint = self.app.otlp_receiver.endpoint  # type: ignore[attr-defined]
        self.update(f"● live · {endpoint} · {rate:,.0f} spans/s · {stats.accepted:,} received{busy}")
        if written > self._last_written:
            known = {p.id for p in getattr(self.app, "projects", None) or []}
            if set(self.app.otlp_receiver.writer.project_ids) - known:  # type: ignore[attr-defined]
                self.app.reload_projects()  # type: ignore[attr-defined]  # a new service.name made a project
            self.post_message(self.Arrived(written))
        self._last_written, self._last_time = written, now
