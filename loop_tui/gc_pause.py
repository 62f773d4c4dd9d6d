"""Keep garbage collection short while latency-sensitive work runs (a chat stream, an eval run).

A full collection walks every object the collector tracks. With the app's heap (or an eval run's
thousands of buffered spans on top of every imported module) one full collection took 60-300 ms in
the chat and ~60 ms in the middle of a 2 s eval run, during which no reply is read and no request is
sent. `collect_only_new_objects` freezes (`gc.freeze`) what exists on entry: frozen objects are not
examined by the collector (reference counting still frees them), so collections during the run only
walk what the run made, and the run's own garbage is collected as usual.

Freezing alone does not keep full collections away: after the first one during the run, Python counts
only the run's survivors as "long-lived", so its rule of thumb (a full collection once a quarter more of
them has piled up) fired again and again, each walking every widget and drawn line the run had made
(seven 30-60 ms pauses in a 10 s chat stream). A caller that pays for one full collection afterwards
(`release_delay_s` > 0) therefore also holds automatic full collections off until then; young objects are
still collected as usual.

Users may overlap (chats on several pages, an eval started from the playground while Loop answers): the
heap is frozen by the first to enter and released when the last one leaves, after `release_delay_s`
(the chat waits until the user is reading to pay for the one full collection; an eval releases at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
from collections.abc import Iterator

# Users may be in different threads (the playground runs evals on a loop of its own), so the state is
# guarded by a lock, and a release timer is only ever cancelled on its own loop.
_lock = threading.Lock()
_users = 0  # how many callers are inside `collect_only_new_objects` now
_frozen = False
_release_timer: tuple[asyncio.AbstractEventLoop, asyncio.TimerHandle] | None = None
_held_thresholds: tuple[int, int, int] | None = None  # the thresholds to restore when full collections resume

# A full collection is due when the middle generation has been collected this many times: never, in practice.
_NO_FULL_COLLECTIONS = 1 << 30


def _release(collect: bool) -> None:
    """Unfreeze everything (and, for the chat, collect once) unless someone entered again meanwhile."""
    global _frozen, _release_timer, _held_thresholds
    with _lock:
        _release_timer = None
        if _users or not _frozen:
            return
        _frozen = False
        if collect:
            # Collected while still frozen, so only what the run made is walked; the heap frozen on entry
            # goes back to the collector's usual schedule.
            gc.collect()
        gc.unfreeze()
        if _held_thresholds is not None:
            gc.set_threshold(*_held_thresholds)
            _held_thresholds = None


def collect_what_the_run_dropped() -> None:
    """While a pause holds full collections off, collect the garbage the run has made so far and freeze
    what survives, so the next collection walks only what comes after (no-op outside a pause).

    A chat drops a whole tree of widgets each time it freezes a finished stretch of an answer: collected
    there, one stretch at a time, instead of all at once at the release (0.4 s for a 5,000-token answer).
    """
    with _lock:
        if not _frozen or _held_thresholds is None:
            return
        gc.collect()
        gc.freeze()


def _cancel_timer() -> None:
    """Drop a pending release (caller holds `_lock`); a timer of another thread's loop is cancelled there."""
    global _release_timer
    if _release_timer is None:
        return
    loop, handle = _release_timer
    _release_timer = None
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if loop is running:
        handle.cancel()
    elif not loop.is_closed():
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: the timer never fires
            loop.call_soon_threadsafe(handle.cancel)


@contextlib.contextmanager
def collect_only_new_objects(release_delay_s: float = 0.0) -> Iterator[None]:
    """While inside, garbage collection skips every object that existed on entry (see the module doc).

    With `release_delay_s` > 0 no automatic full collection runs until the release, which happens that long
    after the last user left, on the running event loop, followed by one full collection; with 0 the heap is
    unfrozen at once and the collector carries on as usual.
    """
    global _users, _frozen, _release_timer, _held_thresholds
    with _lock:
        _users += 1
        _cancel_timer()
        if not _frozen:
            _frozen = True
            gc.freeze()
        if release_delay_s > 0 and _held_thresholds is None:
            young, middle, _full = _held_thresholds = gc.get_threshold()
            gc.set_threshold(young, middle, _NO_FULL_COLLECTIONS)
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            last = _users == 0
            if last and release_delay_s > 0:
                try:
                    loop = asyncio.get_running_loop()
                    _release_timer = (loop, loop.call_later(release_delay_s, _release, True))
                    last = False
                except RuntimeError:  # no event loop (a plain call): release now
                    pass
        if last:
            _release(collect=release_delay_s > 0)
