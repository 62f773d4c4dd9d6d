"""Read ahead: run a page iterator in a thread so the next page downloads while this one is written."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


class _Finished(Exception):  # noqa: N818 - the end of the pages, not an error
    """The reader has handed on everything `pages` yielded."""


class _Reader:
    """A daemon thread putting what `pages` yields into a bounded queue (an exception, then nothing more)."""

    def __init__(self, pages: Iterator[T], depth: int) -> None:
        self.box: queue.Queue[object] = queue.Queue(maxsize=depth)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._read, args=(pages,), name="read-ahead", daemon=True)
        self.thread.start()

    def _read(self, pages: Iterator[T]) -> None:
        try:
            for item in pages:
                while not self.stop.is_set():
                    try:
                        self.box.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self.stop.is_set():
                    return
            self.box.put(_END)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self.box.put(exc)

    def take(self, timeout: float | None = None) -> object:
        """The next item; raises `_Finished` at the end, the iterator's exception after the items before it,
        and `queue.Empty` when `timeout` (0: do not wait) passes first."""
        item = self.box.get_nowait() if timeout is not None and timeout <= 0 else self.box.get(timeout=timeout)
        if item is _END:
            raise _Finished
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        """Stop after the item being fetched (unblocking a reader waiting to put), and let it finish."""
        self.stop.set()
        while self.thread.is_alive():
            try:
                self.box.get_nowait()
            except queue.Empty:
                self.thread.join(0.05)


def prefetch(pages: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield what `pages` yields, fetching up to `depth` items ahead in a daemon thread.

    An exception in the iterator is re-raised here, after the items before it. Closing this generator
    early stops the reader after the item it is fetching (memory stays bounded by `depth` pages).
    """
    reader = _Reader(pages, depth)
    try:
        while True:
            try:
                item = reader.take()
            except _Finished:
                return
            yield item  # type: ignore[misc]
    finally:
        reader.close()


def prefetch_grouped(pages: Iterator[T], size: Callable[[T], int], max_size: int, max_wait_s: float,
                     depth: int = 16) -> Iterator[list[T]]:
    """Like `prefetch`, but yields lists: a group's first item, then what else arrives within `max_wait_s`
    of it, up to `max_size` (summing `size` of each item). Work with a fixed cost per call (a DuckDB query
    per page) then pays it once per group when pages come fast, while a slow page is handed on alone, so
    progress and cancellation still see every page that is slow to come. An exception in the iterator is
    re-raised after the group holding the items before it.
    """
    reader = _Reader(pages, depth)
    try:
        while True:
            try:
                first = reader.take()
            except _Finished:
                return
            group: list[T] = [first]  # type: ignore[list-item]
            total = size(first)  # type: ignore[arg-type]
            deadline = time.monotonic() + max_wait_s
            ending: Exception | None = None  # the end or the iterator's exception, after this group
            while total < max_size:
                try:
                    item = reader.take(timeout=deadline - time.monotonic())
                except queue.Empty:
                    break
                except Exception as exc:  # handed on after the group (an interrupt of this thread is not)
                    ending = exc
                    break
                group.append(item)  # type: ignore[arg-type]
                total += size(item)  # type: ignore[arg-type]
            yield group
            if isinstance(ending, _Finished):
                return
            if ending is not None:
                raise ending
    finally:
        reader.close()
