"""The workspace store: Braintrust-shaped data in append-only Parquet segments, read with DuckDB.

See `workspace.Workspace` for the API, `segments` for the on-disk layout, `txlog` for the one commit point
of every write, and `doctor` for checking and repairing a damaged workspace.
"""

from loop_tui.store.catalog import CatalogObject
from loop_tui.store.history import HistoryEntry
from loop_tui.store.open import open_workspace
from loop_tui.store.workspace import Workspace

__all__ = ["CatalogObject", "HistoryEntry", "Workspace", "open_workspace"]
