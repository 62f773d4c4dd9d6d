"""The progress bar of `loop-tui import`: rows, MB/s and ETA on stderr, drawn only on a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ImportProgress:
    """Redraws one stderr line at most ~10 times a second; silent when stderr is not a terminal."""

    def __init__(self, total_bytes: int, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.total = max(1, total_bytes)
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._started = time.monotonic()
        self._drawn_at = 0.0
        self._drawn = False

    def update(self, rows: int, done_bytes: int) -> None:
        """Show `rows` imported and `done_bytes` of the file read."""
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._drawn_at < 0.1:
            return
        self._drawn_at = now
        self.stream.write("\r" + self.line(rows, done_bytes, now - self._started) + "\033[K")
        self.stream.flush()
        self._drawn = True

    def line(self, rows: int, done_bytes: int, elapsed: float) -> str:
        """The bar's text: `[####----] 42% 120,000 rows 35.1 MB/s ETA 0:07`."""
        fraction = min(1.0, done_bytes / self.total)
        width = 24
        filled = int(fraction * width)
        rate = done_bytes / elapsed / 1e6 if elapsed > 0 else 0.0
        remaining = (self.total - done_bytes) / (rate * 1e6) if rate > 0 else None
        eta = "--:--" if remaining is None else f"{int(remaining) // 60}:{int(remaining) % 60:02d}"
        return (f"[{'#' * filled}{'-' * (width - filled)}] {fraction:4.0%} {rows:,} rows "
                f"{rate:,.1f} MB/s ETA {eta}")

    def close(self) -> None:
        """Clear the bar so the summary line prints on a clean line."""
        if self.enabled and self._drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
