"""The agent pump: turns `Agent.run` events into chat messages, batching text every ~40 ms.

It runs inside the chat's one async worker and only ever calls `post` (the chat's `post_message`), so
no widget is touched from the worker. Text deltas are joined, never dropped: a ticker flushes them every
`BATCH_S`, and every other event flushes them first so the order on screen is the order of the run.

While a run streams, long-lived objects are frozen out of the garbage collector (`gc.freeze`, see
`loop_tui.gc_pause`) so its full collections stay short; the run's garbage is collected as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from textual.message import Message

from loop_tui.agent import events as ev
from loop_tui.gc_pause import collect_only_new_objects
from loop_tui.ui.loop import messages as msg

BATCH_S = 0.04
# A stream that has fallen behind (or a server that sent many events at once) yields them without ever
# suspending: let the screen run at least this often while they are taken in.
YIELD_S = 0.008
IDLE_COLLECT_S = 2.0  # after the last run ends, wait this long before the one full collection


def translate(event: ev.AgentEvent, run_id: int) -> Message:
    """The chat message for one non-text agent event."""
    if isinstance(event, ev.ToolStarted):
        return msg.AgentToolStarted(run_id, event.call)
    if isinstance(event, ev.ToolFinished):
        return msg.AgentToolFinished(run_id, event.call, event.result, event.error, list(event.undo_xact),
                                     event.artifact)
    if isinstance(event, ev.ConfirmationRequired):
        return msg.AgentConfirmationRequested(run_id, event)
    if isinstance(event, ev.IterationLimit):
        return msg.AgentIterationLimit(run_id, event.iterations)
    if isinstance(event, ev.TurnFinished):
        return msg.AgentDone(run_id, event.cost_usd)
    if isinstance(event, ev.Failed):
        return msg.AgentFailed(run_id, event.message, event.kind)
    if isinstance(event, ev.TextDelta):
        return msg.AgentTextDelta(run_id, event.text)
    raise TypeError(f"unknown agent event {event!r}")


async def pump_events(
    events: AsyncIterator[ev.AgentEvent], post: Callable[[Message], object], run_id: int, *, batch_s: float = BATCH_S
) -> None:
    """Forward every event of one run as messages, text in batches; returns when the run ends."""
    pending: list[str] = []

    def flush() -> None:
        if pending:
            post(msg.AgentTextDelta(run_id, "".join(pending)))
            pending.clear()

    async def ticker() -> None:
        while True:
            await asyncio.sleep(batch_s)
            flush()

    with collect_only_new_objects(release_delay_s=IDLE_COLLECT_S):
        tick = asyncio.create_task(ticker())
        ran_since = time.perf_counter()
        try:
            async for event in events:
                if time.perf_counter() - ran_since > YIELD_S:
                    await asyncio.sleep(0)
                    ran_since = time.perf_counter()
                if isinstance(event, ev.TextDelta):
                    pending.append(event.text)
                    continue
                flush()
                post(translate(event, run_id))
        finally:
            tick.cancel()
            flush()
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await aclose()
