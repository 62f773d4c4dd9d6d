"""Whether an import repeats an id, known without reading the written segment back.

At commit, an import counted its distinct ids with DuckDB over the whole written file (~0.1-0.2 s of a
2.5 s import, with nothing else running). The fast paths now hand over a 64-bit hash of each row's id
(DuckDB's `hash()` in its parallel pass, the native scanner's FNV-1a), kept here as the batches arrive:
when no two rows share a hash, no two rows share an id (equal ids hash alike), and the count is skipped.
Anything less certain says "maybe", and the commit counts exactly as before: two hashes alike (two ids
alike, or a collision, ~1 in 10^8 at 2M rows), a batch without hashes (the row-by-row path, rows Python
normalised), or more rows than `MOST_ROWS` (8 bytes a row; peak memory stays bounded).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

ID_HASH = "_id_hash"  # the column of a fast-path batch holding a hash of the row's id (null: none)
MOST_ROWS = 2_500_000  # 20 MB of hashes (a 2 GB file of SDK spans has ~2.2M rows): peak memory stays < 500 MB


class IdHashes:
    """The id hashes of every row added so far, or nothing once one batch came without them."""

    def __init__(self) -> None:
        self._parts: list[np.ndarray] | None = []
        self._rows = 0

    def add(self, batch: pa.Table) -> None:
        """Keep the hashes of `batch`'s ids (its `ID_HASH` column), or give up when it has none."""
        if self._parts is None:
            return
        self._rows += batch.num_rows
        if ID_HASH not in batch.column_names or self._rows > MOST_ROWS:
            self._parts = None
            return
        column = batch.column(ID_HASH)
        if column.null_count:  # a row without one: Python normalised it, its id may differ from DuckDB's
            self._parts = None
            return
        # A copy: a zero-copy view would keep DuckDB's whole batch alive (its buffers are released together),
        # ~0.8 KB a row for the rest of the import.
        self._parts.append(column.to_numpy().copy())

    def surely_distinct(self) -> bool:
        """True when no two rows added share an id; False when some may (then count them exactly)."""
        import numpy as np

        if self._parts is None:
            return False
        hashes = np.concatenate(self._parts) if self._parts else np.empty(0, np.uint64)
        hashes.sort()
        return not bool(np.any(hashes[1:] == hashes[:-1]))

    def forget(self) -> None:
        """Start again (the import restarted)."""
        self._parts, self._rows = [], 0
