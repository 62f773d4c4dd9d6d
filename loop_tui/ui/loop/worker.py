"""The agent pump: turns `Agent.run` events into chat messages, batching text every ~40 ms.

It runs inside the chat's one async worker and only ever calls `post` (the chat's `post_message`), so
no widget is touched from the worker. Text deltas are joined, never dropped: a ticker flushes them every
`BATCH_S`, and every other event flushes them first so the order on screen is the order of the run.

While a run streams, long-lived objects are frozen out of the garbage collector (`gc.freeze`, see
`collect_only_new_objects`) so its full collections stay short; the run's garbage is collected as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Callable, Iterator

from textual.message import Message

from loop_tui.agent import events as ev
from loop_tui.ui.loop import messages as msg

BATCH_S = 0.04
IDLE_COLLECT_S = 2.0  # after the last run ends, wait this long before the one full collection
_streaming_runs = 0  # how many runs are in `pump_events` now (chats on several pages may overlap)
_frozen = False
_release_timer: asyncio.TimerHandle | None = None


def _release() -> None:
    """Unfreeze everything and collect once, while no run streams (the user is reading the answer)."""
    global _frozen, _release_timer
    _release_timer = None
    if _streaming_runs or not _frozen:
        return
    _frozen = False
    gc.unfreeze()
    gc.collect()


@contextlib.contextmanager
def collect_only_new_objects() -> Iterator[None]:
    """While inside, garbage collection skips every object that existed on entry (`gc.freeze`).

    A full collection walks every object it tracks: with the app's startup heap and the transcript so far
    that was the longest event-loop pause of a stream (60-300 ms, every half second). Frozen objects are not
    examined by the collector (reference counting still frees them), so full collections during the run
    only walk what the run made. `IDLE_COLLECT_S` after the last run ends, everything is unfrozen and
    collected once, so cyclic garbage from before the run is not kept.
    """
    global _streaming_runs, _frozen, _release_timer
    _streaming_runs += 1
    if _release_timer is not None:
        _release_timer.cancel()
        _release_timer = None
    if not _frozen:
        _frozen = True
        gc.freeze()
    try:
        yield
    finally:
        _streaming_runs -= 1
        if _streaming_runs == 0:
            try:
                _release_timer = asyncio.get_running_loop().call_later(IDLE_COLLECT_S, _release)
            except RuntimeError:  # no event loop (a plain call): release now
                _release()


def translate(event: ev.AgentEvent, run_id: int) -> Message:
    """The chat message for one non-text agent event."""
    if isinstance(event, ev.ToolStarted):
        return msg.AgentToolStarted(run_id, event.call)
    if isinstance(event, ev.ToolFinished):
        return msg.AgentToolFinished(run_id, event.call, event.result, event.error, list(event.undo_xact))
    if isinstance(event, ev.ConfirmationRequired):
        return msg.AgentConfirmationRequested(run_id, event)
    if isinstance(event, ev.IterationLimit):
        return msg.AgentIterationLimit(run_id, event.iterations)
    if isinstance(event, ev.Done):
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

    with collect_only_new_objects():
        tick = asyncio.create_task(ticker())
        try:
            async for event in events:
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
