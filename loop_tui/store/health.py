"""Which segment files are damaged, and what a damaged one means for readers.

A segment that is missing, unreadable or not Parquet damages only its own object (one project's logs,
one experiment, one dataset, one kind of catalog object): the views leave that object's files out and put
in its place a row that raises the damage sentence when a query reaches it (see `views`), so every other
object reads as before and the damaged one never reads as empty.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from loop_tui.store.segments import segment_dir
from loop_tui.store.txlog import Snapshot

REQUIRED_COLUMNS = ("id", "_xact_id", "_object_delete")
REPAIR_HINT = "run `loop-tui doctor --repair` to move it aside"
_LABELS = {"project_logs": "the logs of project {}", "experiment": "experiment {}", "dataset": "dataset {}",
           "catalog": "the {} catalog"}


@dataclass(frozen=True)
class Damage:
    """One damaged segment file of one object."""

    table: str
    object_id: str
    path: Path
    reason: str

    @property
    def what(self) -> str:
        """The object, as a user would name it."""
        return _LABELS.get(self.table, self.table + " {}").format(self.object_id)

    def message(self, root: Path) -> str:
        """The one sentence a reader of this object gets."""
        try:
            rel = self.path.relative_to(root)
        except ValueError:
            rel = self.path
        return f"{self.what} cannot be read: {rel} {self.reason}; {REPAIR_HINT}"


def damage_sentence(error: BaseException) -> str | None:
    """The damage sentence a query reaching a damaged object raised (see `views`), or None for other errors."""
    text = str(error)
    end = text.find(REPAIR_HINT)
    if end < 0:
        return None
    start = text.rfind("Error: ", 0, end)
    return text[start + len("Error: ") if start >= 0 else 0 : end + len(REPAIR_HINT)]


# path -> (size, mtime_ns, reason or "", read in full) for files already checked: re-checked only when changed.
_checked: dict[str, tuple[int, int, str, bool]] = {}
_lock = threading.Lock()


def _stat_key(path: Path) -> tuple[int, int] | str:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "is missing"
    except PermissionError:
        return "cannot be opened (permission denied)"
    except OSError as exc:
        return f"cannot be opened ({exc.strerror})"
    return (st.st_size, st.st_mtime_ns)


def _known(path: Path, key: tuple[int, int], deep: bool) -> str | None:
    """The cached verdict on `path` if it still applies (a footer check does not vouch for a full read)."""
    with _lock:
        hit = _checked.get(str(path))
    if hit is None or hit[:2] != key or (deep and not hit[2] and not hit[3]):
        return None
    return hit[2]


def check_file(path: Path, *, deep: bool = False) -> str:
    """Why `path` is damaged ("" when it is a readable segment); `deep` reads every row, not just the footer."""
    import pyarrow.parquet as pq

    key = _stat_key(path)
    if isinstance(key, str):
        return key
    known = _known(path, key, deep)
    if known is not None:
        return known
    try:
        schema = pq.read_table(path).schema if deep else pq.read_schema(path)
        missing = [c for c in REQUIRED_COLUMNS if c not in schema.names]
        reason = f"lacks the column {missing[0]}" if missing else ""
    except PermissionError:
        reason = "cannot be opened (permission denied)"
    except OSError as exc:
        reason = "is not a readable Parquet file (truncated or overwritten)" if not exc.strerror else f"cannot be read ({exc.strerror})"
    except Exception:  # noqa: BLE001 - pyarrow raises several types for a damaged file
        reason = "is not a readable Parquet file (truncated or overwritten)"
    with _lock:
        _checked[str(path)] = (*key, reason, deep)
    return reason


def known_damage(root: Path, snap: Snapshot, *, check_footers: set[str] | frozenset[str] = frozenset(),
                 deep: bool = False) -> dict[tuple[str, str], Damage]:
    """Damaged objects of the snapshot: missing or unreadable files (always), files already known bad, and
    the footers of every file of the tables in `check_footers` (read when a view over them failed)."""
    found: dict[tuple[str, str], Damage] = {}
    for table, objects in snap.live.items():
        for obj, names in objects.items():
            folder = segment_dir(root, table, obj)
            for name in names:
                path = folder / name
                if deep or table in check_footers:
                    reason = check_file(path, deep=deep)
                else:
                    key = _stat_key(path)
                    reason = key if isinstance(key, str) else (_known(path, key, False) or "")
                if reason:
                    found.setdefault((table, obj), Damage(table, obj, path, reason))
                    break
    return found
