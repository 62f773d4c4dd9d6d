"""Views of the objects a query names: `<table>_btql` restricted to one project's (or experiment's) segments.

A BTQL source always names its objects (`project_logs('<id>')`). The table-wide `<table>_btql` view reads
every object's segments; when their typed copies differ (another project has other score keys) DuckDB unites
the files by name, and a count over one filter took 4-5x the hand-written query at ten million spans. The
view of just the named objects has one schema when their segments agree, so it is read as one schema.

Such a view is made on first use, in the database of the executor's own connection of one workspace
generation, the very database the query then runs on (a new generation gets a new database, so views
never outlive the files they list), and only when the snapshot it lists is exactly that generation's:
otherwise the query reads the table-wide view, as before.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

MAX_VIEWS = 256  # per connection; past it, queries read the table-wide view (no unbounded catalog growth)


@dataclass
class ObjectViews:
    """The object views made in the database of `con` (the connection of one workspace generation):
    {(table, object ids): (view name, typed fields) or None}."""

    generation: int
    con: Any
    made: dict[tuple[str, tuple[str, ...]], tuple[str, dict[str, dict[str, str]]] | None] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def view_of(self, ws: Any, table: str, ids: list[str]) -> tuple[str, dict[str, dict[str, str]]] | None:
        """(view name, {map column: {key: SQL}} of its typed copies) for `ids` of `table`, made if needed;
        None when the table-wide view should be read instead."""
        wanted = (table, tuple(sorted(set(ids))))
        with self.lock:
            if wanted in self.made:
                return self.made[wanted]
            if len(self.made) >= MAX_VIEWS:
                return None
            made = self._make(ws, table, list(wanted[1]), f"{table}_btql_{len(self.made)}")
            self.made[wanted] = made
            return made

    def _make(self, ws: Any, table: str, ids: list[str], name: str) -> tuple[str, dict[str, dict[str, str]]] | None:
        import duckdb

        from loop_tui.btql.schema import typed_fields_of_view
        from loop_tui.store import txlog
        from loop_tui.store.views import objects_btql_select

        snap = txlog.snapshot(ws.root)
        if txlog.generation(ws.root) != self.generation:
            return None  # committed since the connection's views were made: its next query gets a new one
        damaged = {(d.table, d.object_id): d for d in ws.damaged()}
        select = objects_btql_select(ws.root, snap, damaged, table, ids)
        if select is None:
            return None
        con = None
        try:
            # A cursor of its own: other threads run queries on cursors of the same database meanwhile.
            con = self.con.cursor()
            con.execute(f"CREATE OR REPLACE VIEW {name} AS {select}")
            typed = typed_fields_of_view(con, name)
        except duckdb.Error:
            return None  # e.g. a damaged footer (the table-wide view knows how to report it), a closed database
        finally:
            if con is not None:
                con.close()
        return (name, typed) if typed else None
