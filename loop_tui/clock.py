"""The app's notion of "now": the real clock, or one set back or forward by `LOOP_TUI_NOW`.

Everything that stamps or compares wall-clock time through the data (`created` of new rows and objects,
`now()` in BTQL, the window of the sample workspace) asks this module, so a test suite, a screenshot or
a bug report can pin the date (`LOOP_TUI_NOW=2026-11-27T00:00:00Z`) and get the same answers on any
day. A pinned clock runs on from the instant it names, so rows written one after another still get
distinct, ordered times. `INSTANT@EPOCH` says when the pin was made (real epoch seconds): every process
given the same value then shares one timeline (a command started later by a test reads a later time than
rows its parent wrote earlier). Plain `INSTANT` starts when the process first reads it.
Durations (latency, timeouts) use the monotonic and real clocks directly and are never pinned.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta

from loop_tui.errors import UserError

ENV_VAR = "LOOP_TUI_NOW"

_offsets: dict[str, timedelta] = {}  # pinned text -> its offset from the real clock, fixed on first read
_offsets_lock = threading.Lock()


def parse_instant(text: str, *, source: str) -> datetime:
    """An ISO-8601 date or date-time as an aware UTC datetime (a naive one is taken as UTC)."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"{source} must be an ISO-8601 date or time such as 2026-11-27T00:00:00Z, got {text!r}") from None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def pin(instant: datetime, *, at: float | None = None) -> str:
    """The `LOOP_TUI_NOW` value that makes the clock read `instant` at real epoch time `at` (default: now)."""
    return f"{instant.isoformat()}@{time.time() if at is None else at!r}"


def _parse_pin(text: str) -> tuple[datetime, float | None]:
    instant, sep, since = text.rpartition("@")
    if not sep:
        return parse_instant(text, source=ENV_VAR), None
    try:
        return parse_instant(instant, source=ENV_VAR), float(since)
    except ValueError:
        raise UserError(f"{ENV_VAR} must be INSTANT or INSTANT@EPOCH_SECONDS, got {text!r}") from None


def pinned() -> datetime | None:
    """The instant `LOOP_TUI_NOW` starts the clock at, or None when the real clock is in use."""
    text = os.environ.get(ENV_VAR, "").strip()
    return _parse_pin(text)[0] if text else None


def now() -> datetime:
    """The current instant in UTC (on the clock `LOOP_TUI_NOW` started, when it is set)."""
    real = datetime.now(UTC)
    text = os.environ.get(ENV_VAR, "").strip()
    if not text:
        return real
    with _offsets_lock:
        offset = _offsets.get(text)
        if offset is None:
            instant, since = _parse_pin(text)
            start = real if since is None else datetime.fromtimestamp(since, UTC)
            offset = _offsets[text] = instant - start
    return real + offset


def timestamp() -> float:
    """`now()` as epoch seconds."""
    return now().timestamp()
