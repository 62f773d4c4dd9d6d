"""The native fast path of a JSONL span import: a C scanner (`_spanscan.c`) reads the lines, two chunks at once.

DuckDB's pass (`import_fast`) parses each line several times over to prove, in SQL, that its conversions
are the row-by-row path's: ~3x the CPU of DuckDB's own `read_json` of the file. The scanner parses each line
once, writes each free-form field as Python's `json.dumps` would (or leaves the line to Python when it cannot
know that text for sure), and hands back the buffers of the same Arrow columns DuckDB's pass makes, so the
rest (`import_fast._finish`: the rows left to Python, the maps) is shared. It runs without the GIL, on two
threads over consecutive chunks of the file.

The extension is optional (built by `pip install` when a C compiler is there, see setup.py); without it,
imports take DuckDB's pass. `tests/test_import_fast_equivalence.py` compares both with the row-by-row path.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loop_tui.store import schema as sch
from loop_tui.store.import_fast import KNOWN_SPAN_KEYS, _finish, check_fast_path
from loop_tui.store.import_ids import ID_HASH

if TYPE_CHECKING:
    import pyarrow as pa

SCANNER_LAYOUT = 1  # `_spanscan.c`'s SCAN_LAYOUT: what its `scan` takes and returns, as this module reads it
CHUNK_BYTES = 8 << 20  # lines read and scanned at a time (~9,000 SDK spans); two are scanned at once
THREADS = 2

# The scanner's roles of the known top-level keys (see `_spanscan.c`): the rest are read and dropped.
_ROLES = {"id": 1, "span_id": 2, "root_span_id": 3, "created": 4, "span_parents": 5, "is_root": 6,
          "scores": 7, "metrics": 8, "tags": 9} | {field: 10 + i for i, field in enumerate(sch.SPAN_JSON_FIELDS)}
# Every key the row-by-row path maps or drops (`__line__` too: the reader's own line number replaces it, and
# it is dropped; DuckDB's pass leaves such a line to Python); any other goes to `_extra`.
_KEYS = tuple(sorted({*KNOWN_SPAN_KEYS, "__line__"}))
_KEY_ROLES = bytes(_ROLES.get(key, 0) for key in _KEYS)
_META = sch.SPAN_JSON_FIELDS.index("metadata")
_ATTRS = sch.SPAN_JSON_FIELDS.index("span_attributes")


UNAVAILABLE = ("the native scanner is not built (no C compiler at install) or was built from another version of "
               "_spanscan.c (rebuild: python setup.py build_ext --inplace)")
"""Why `available()` is False, for the tests that skip then."""


def available() -> bool:
    """Whether the native scanner was built (pip builds it when a C compiler is there) from the source this
    module reads the buffers of: a build left from an older source (an editable install not rebuilt) is not."""
    try:
        from loop_tui.store import _spanscan
    except ImportError:
        return False
    return (getattr(_spanscan, "LAYOUT", None) == SCANNER_LAYOUT
            and getattr(_spanscan, "FREE_FORM_FIELDS", None) == len(sch.SPAN_JSON_FIELDS))


def span_batches(path: Path, table: str, source: str, now: datetime) -> Iterator[pa.Table]:
    """Normalised span batches of a JSONL file, as `import_fast.span_batches` makes them (same columns and
    rows), scanned natively. Raises `RowByRow` when the file needs the row-by-row path."""
    import loop_tui.store._spanscan as _spanscan

    check_fast_path(path, table)
    with open(path, "rb") as fh:
        pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="import-scan")
        pending: deque[Future[dict[str, Any]]] = deque()
        lines_before = 0  # lines of the file before the next piece's (its rows' line numbers start there)

        def finished(buffers: dict[str, Any]) -> pa.Table:
            nonlocal lines_before
            batch = _batch(buffers, table, source, now, lines_before)
            lines_before += buffers["lines"]
            return batch

        try:
            for chunk in _line_chunks(fh):
                pending.append(pool.submit(_spanscan.scan, chunk, _KEYS, _KEY_ROLES, _META, _ATTRS))
                if len(pending) > THREADS:
                    yield finished(pending.popleft().result())
            while pending:
                yield finished(pending.popleft().result())
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True)


def _line_chunks(fh: Any, buffers: int = THREADS + 2) -> Iterator[memoryview]:
    """The file in pieces of about CHUNK_BYTES that end at a line's end (a longer line is one piece).

    Each piece is a view of one of a few buffers used in turn (fresh 8 MB copies of every piece cost a fifth
    of the scan's time in page faults and copying): a buffer is filled again `buffers` pieces later, so a
    caller keeps at most `buffers - 1` pieces in use (`span_batches` keeps THREADS + 1). The ring turns once a
    piece, never once a read: a line longer than a read grows its own buffer (doubling) until its end comes.
    """
    ring = [bytearray(CHUNK_BYTES) for _ in range(buffers)]
    carry = b""  # the start of a line cut at the previous piece's end
    for turn in itertools.count():
        slot = turn % buffers
        if len(ring[slot]) > 2 * (len(carry) + CHUNK_BYTES):  # a long line's buffer, no longer needed: let it go
            ring[slot] = bytearray(len(carry) + CHUNK_BYTES)
        view = memoryview(ring[slot])
        size = len(carry)
        view[:size] = carry
        while True:
            if len(view) < size + CHUNK_BYTES:  # a line longer than the buffer: one twice as big, for this piece
                bigger = bytearray(max(2 * len(view), size + CHUNK_BYTES))
                bigger[:size] = view[:size]
                ring[slot], view = bigger, memoryview(bigger)
            read = fh.readinto(view[size:size + CHUNK_BYTES])
            if not read:
                if size:
                    yield view[:size]
                return
            searched, size = size, size + read
            cut = ring[slot].rfind(b"\n", searched, size) + 1  # the bytes before `searched` hold no line end
            if cut:
                break
        carry = bytes(view[cut:size])
        yield view[:cut]


def _batch(buffers: dict[str, Any], table: str, source: str, now: datetime, lines_before: int = 0) -> pa.Table:
    """The scanner's buffers as the columns of DuckDB's pass, finished as that pass's batches are."""
    import numpy as np
    import pyarrow as pa

    rows = buffers["rows"]

    def valid(name: str) -> Any:
        return np.frombuffer(buffers[f"{name}.valid"], np.uint8).view(np.bool_)

    def bitmap(flags: Any) -> pa.Buffer | None:
        return None if flags.all() else pa.array(flags, pa.bool_()).buffers()[1]

    def texts(offsets: str, data: str, flags: pa.Buffer | None = None, kind: pa.DataType = pa.string()) -> pa.Array:
        """The texts in buffer `data` between the int32 `offsets` (one more than the texts)."""
        count = len(buffers[offsets]) // 4 - 1
        return pa.Array.from_buffers(kind, count, [flags, pa.py_buffer(buffers[offsets]), pa.py_buffer(buffers[data])])

    def strings(name: str, kind: pa.DataType = pa.string()) -> pa.Array:
        return texts(f"{name}.off", f"{name}.data", bitmap(valid(name)), kind)

    def string_lists(name: str) -> pa.Array:
        child = texts(f"{name}.coff", f"{name}.data")
        return pa.Array.from_buffers(sch.STR_LIST, rows, [bitmap(valid(name)), pa.py_buffer(buffers[f"{name}.loff"])],
                                     children=[child])

    def map_parts(name: str) -> tuple[pa.Array, pa.Array]:
        flags, offsets = bitmap(valid(name)), pa.py_buffer(buffers[f"{name}.loff"])
        keys = texts(f"{name}.koff", f"{name}.kdata")
        items = len(keys)
        has_value = np.frombuffer(buffers[f"{name}.vvalid"], np.uint8).view(np.bool_)
        values = pa.Array.from_buffers(pa.float64(), items, [bitmap(has_value), pa.py_buffer(buffers[f"{name}.vals"])])
        return (pa.Array.from_buffers(pa.list_(pa.string()), rows, [flags, offsets], children=[keys]),
                pa.Array.from_buffers(pa.list_(pa.float64()), rows, [flags, offsets], children=[values]))

    clean = np.frombuffer(buffers["clean"], np.uint8).view(np.bool_)
    if len(buffers["question_rows"]):
        clean = _answer(buffers, clean)
    created = np.frombuffer(buffers["created"], np.int64).copy()
    created[~valid("created")] = int(now.timestamp() * 1_000_000)  # as the slow path: a row without one is "now"
    is_root = np.frombuffer(buffers["is_root"], np.uint8).view(np.bool_)
    id_hash = np.frombuffer(buffers["id_hash"], np.uint64)
    score_keys, score_values = map_parts("scores")
    metric_keys, metric_values = map_parts("metrics")
    columns = {
        "clean": pa.array(clean, pa.bool_()),
        "_raw": strings("_raw", pa.binary()),  # a line left to Python may not even be UTF-8: Python says so
        "id": strings("id"),
        "created": pa.array(created, sch.TIMESTAMP),
        "span_id": strings("span_id"),
        "root_span_id": strings("root_span_id"),
        "span_parents": string_lists("span_parents"),
        "is_root": pa.array(is_root, pa.bool_(), mask=~valid("is_root")),
        **{field: strings(f"free{i}") for i, field in enumerate(sch.SPAN_JSON_FIELDS)},
        "_score_keys": score_keys, "_score_values": score_values,
        "_metric_keys": metric_keys, "_metric_values": metric_values,
        "tags": string_lists("tags"),
        "_meta_model": strings("_meta_model"),
        "_span_name": strings("_span_name"),
        "_span_type": strings("_span_type"),
        "_extra": strings("_extra"),
        ID_HASH: pa.array(id_hash, pa.uint64(), mask=~valid("id_hash")),
    }
    lines = np.frombuffer(buffers["line_no"], np.int32).astype(np.int64) + lines_before  # each row's line
    return _finish(pa.RecordBatch.from_arrays(list(columns.values()), list(columns)), table, source, lines)


def _answer(buffers: dict[str, Any], clean: Any) -> Any:
    """`clean` without the rows holding a number whose text is not Python's repr of it (the scanner asks about
    floats of 16 or 17 digits, and ones near the ends of the double range: Python's own repr decides)."""
    import numpy as np

    offsets = np.frombuffer(buffers["questions.off"], np.int32)
    text = buffers["questions.data"]
    rows = np.frombuffer(buffers["question_rows"], np.int64)
    wrong = [row for row, start, end in zip(rows.tolist(), offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)
             if repr(float(text[start:end])) != text[start:end].decode()]
    if not wrong:
        return clean
    clean = clean.copy()
    clean[wrong] = False  # their lines (kept for the question) go to Python
    return clean
