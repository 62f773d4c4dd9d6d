"""Read ahead: run a page iterator in a thread so the next page downloads while this one is written."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


def prefetch(pages: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield what `pages` yields, fetching up to `depth` items ahead in a daemon thread.

    An exception in the iterator is re-raised here, after the items before it. Closing this generator
    early stops the reader after the item it is fetching (memory stays bounded by `depth` pages).
    """
    box: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def read() -> None:
        try:
            for item in pages:
                while not stop.is_set():
                    try:
                        box.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(_END)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            box.put(exc)

    reader = threading.Thread(target=read, name="sync-prefetch", daemon=True)
    reader.start()
    try:
        while True:
            item = box.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while reader.is_alive():  # unblock a reader waiting to put, then let it finish its request
            try:
                box.get_nowait()
            except queue.Empty:
                reader.join(0.05)
