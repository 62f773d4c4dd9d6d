"""Running compiled queries: sandboxed connections, time-outs, cancellation, paging and post-processing."""

from __future__ import annotations

import logging
import threading
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from loop_tui.btql import ast as A
from loop_tui.btql.compiler import Compiled, Compiler
from loop_tui.btql.cursor import encode_cursor
from loop_tui.btql.errors import BtqlError
from loop_tui.btql.lint import lint
from loop_tui.btql.object_views import ObjectViews
from loop_tui.btql.parsing import parse
from loop_tui.btql.postprocess import finish_table
from loop_tui.btql.safety import assert_single_select
from loop_tui.btql.schema import LazyKeys, key_exists, sampled_keys, typed_fields
from loop_tui.btql.sources import resolve_project, resolve_source
from loop_tui.store.schema import DATA_TABLES, TABLES
from loop_tui.store.typed import TYPED_TABLES

log = logging.getLogger(__name__)
DEFAULT_TIMEOUT_S = 60.0


class CancelToken:
    """Cancels a running query from another thread (the UI's cancel key calls `cancel()`)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the running query to stop; it raises `BtqlError(code='cancelled')`."""
        self._event.set()

    def is_set(self) -> bool:
        """True once cancelled."""
        return self._event.is_set()


@dataclass
class Result:
    """One page of results: Arrow table, cursor for the next page (None at the end), warnings, the SQL run."""

    table: Any
    cursor: str | None
    warnings: list[str] = field(default_factory=list)
    sql: str = ""


_connections: dict[str, tuple[int, Any, ObjectViews]] = {}
_conn_lock = threading.Lock()


def open_ws(workspace: Any) -> Any:
    """A `Workspace` from a Workspace or a path."""
    if isinstance(workspace, str | Path):
        from loop_tui.store import Workspace

        return Workspace.open(workspace, create=False)
    return workspace


def btql_connection(ws: Any) -> Any:
    """A cursor on the workspace's sandboxed BTQL database, refreshed when the workspace changes."""
    return own_connection(ws)[0]


def own_connection(ws: Any) -> tuple[Any, ObjectViews]:
    """(`btql_connection(ws)`, the views of queried objects made in that same database: `object_views`)."""
    key = str(ws.root)
    gen = ws.generation
    with _conn_lock:
        hit = _connections.get(key)
        if hit is None or hit[0] != gen:
            if hit is not None:
                try:
                    hit[1].close()
                except Exception:  # noqa: BLE001 - closing a stale connection must not fail a query
                    pass
            con = ws.connect(sandboxed=True)
            _connections[key] = (gen, con, ObjectViews(gen, con))
        _, con, views = _connections[key]
        return con.cursor(), views


def _generation(ws: Any) -> int:
    return int(getattr(ws, "generation", 0))


def compile_query(query: Any, ws: Any, con: Any, project: str | None, *, tz_offset: int | None = None,
                  cursor: str | None = None, limit: int | None = None, now: Any = None,
                  created_window: Any = None, views: ObjectViews | None = None) -> tuple[A.Query, Compiled, str]:
    """Parse, bind and compile; returns (ast, compiled, source name).

    `views`: the object views of `con`'s database (`own_connection`), so the query may read a view of just
    the objects it names (made there on first use); without them it reads the table-wide views.
    """
    q = query if isinstance(query, A.Query) else parse(query)
    if cursor is not None:
        q.cursor = cursor
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise BtqlError("bind", "bad_limit", "limit must be a non-negative whole number.")
    # Name lookups are cached per workspace generation (a write may add or rename objects).
    cache_key = (str(ws.root), _generation(ws))
    project_id = resolve_project(con, project, cache_key)
    source = resolve_source(con, q.from_, project_id, cache_key)
    root, gen = str(ws.root), _generation(ws)
    # Sampled only if the query names a JSON or map key: a plain page of rows must not wait for it.
    keys = LazyKeys(lambda: sampled_keys(con, root, gen, source.view, _newest_rows(ws, source.view))) \
        if source.view != "catalog" else {}

    def confirm(column: str, key: str) -> bool:
        return source.view != "catalog" and key_exists(con, root, gen, source.view, column, key)

    typed: dict[str, dict[str, str]] = {}
    view = None
    if source.view in TYPED_TABLES:
        # The view holds the rows of these objects only if the source filters on the table's object column.
        exact = views is not None and source.ids and source.column == TABLES[source.view][1]
        own = views.view_of(ws, source.view, source.ids) if views is not None and exact else None
        view, typed = own if own is not None else (None, typed_fields(con, root, gen, source.view))
    _refuse_damaged(ws, source.view, source.ids)
    compiled = Compiler(q, source, keys, tz_offset=int(tz_offset or 0), now=now, limit_override=limit,
                        confirm_key=confirm, typed=typed, created_window=created_window, view=view).compile()
    assert_single_select(compiled.sql)
    return q, compiled, source.name


def _refuse_damaged(ws: Any, table: str, object_ids: list[str]) -> None:
    """Fail a query over an object the store found damaged, with the store's sentence.

    The views stand a row that raises the damage in for such an object, but a filter or sort on a column
    that row lacks (`is_root`, a time window) can drop it unevaluated: the logs page of a project with a
    truncated segment said "No logs match".
    """
    damaged = getattr(ws, "damaged", None)
    if damaged is None:
        return
    for damage in damaged():
        if damage.table == table and (not object_ids or damage.object_id in object_ids):
            raise BtqlError("runtime", "damaged_segment", damage.message(ws.root))


def _damage_inside(ws: Any, compiled: Compiled) -> str | None:
    """After DuckDB failed reading: the sentence for a damaged file of the queried objects, if one is (every
    file read in full, as the store does when a read fails in a way its checks did not foresee)."""
    from loop_tui.store import txlog
    from loop_tui.store.health import known_damage

    root = getattr(ws, "root", None)
    table, object_ids = compiled.window_objects
    if root is None:
        return None
    for (damaged_table, object_id), damage in known_damage(root, txlog.snapshot(root), deep=True).items():
        if (not table or damaged_table == table) and (not object_ids or object_id in object_ids):
            return damage.message(root)
    return None


def run(query: str | dict | A.Query, workspace: Any, project: str | None = None, *, tz_offset: int | None = None,
        cursor: str | None = None, limit: int | None = None, timeout_s: float | None = DEFAULT_TIMEOUT_S,
        connection: Any = None, cancel: CancelToken | threading.Event | None = None) -> Result:
    """Run a BTQL query (either syntax or ParsedQuery JSON); raises `BtqlError` on any failure."""
    ws = open_ws(workspace)
    con, views = (connection, None) if connection is not None else own_connection(ws)
    q, compiled, source_name = compile_query(query, ws, con, project, tz_offset=tz_offset, cursor=cursor, limit=limit,
                                             views=views)
    deadline = None if timeout_s is None else time.monotonic() + float(timeout_s)
    table, sql = None, compiled.sql
    try:
        if compiled.window_sort is not None and compiled.window_objects[0] in DATA_TABLES:
            table, sql = _run_in_time_windows(q, compiled, ws, con, project, tz_offset, limit, deadline, cancel,
                                              views)
        if table is None:
            table = execute(con, compiled, timeout_s=_left(deadline), cancel=cancel)
    except BtqlError as err:
        sentence = _damage_inside(ws, compiled) if err.code == "query_failed" else None
        if sentence is None:
            if err.code == "query_failed":
                log.warning("btql query failed in DuckDB: %s\nSQL: %s", err.__cause__ or err, compiled.sql)
            raise
        raise BtqlError("runtime", "damaged_segment", sentence) from None
    table, more, last_keys = finish_table(table, compiled)
    next_cursor = None
    if more:
        if compiled.shape == "traces" and not compiled.aggregate:
            next_cursor = encode_cursor(compiled.fingerprint, offset=compiled.trace_offset + int(compiled.limit or 0))
        else:
            next_cursor = encode_cursor(compiled.fingerprint, values=last_keys)
    return Result(table, next_cursor, lint(q, source_name), sql)


def _newest_rows(ws: Any, view: str) -> Any:
    """`rows -> time bound` for the key sample of a data view (None for views of other tables)."""
    if view not in DATA_TABLES:
        return None
    from loop_tui.btql.time_window import newest_rows_bound

    return lambda rows: newest_rows_bound(ws, view, rows)


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _run_in_time_windows(q: A.Query, compiled: Compiled, ws: Any, con: Any, project: str | None,
                         tz_offset: int | None, limit: int | None, deadline: float | None,
                         cancel: Any, views: ObjectViews | None) -> tuple[Any, str]:
    """(the page, the SQL that read it) from the newest (or oldest) segments only, if they fill it; (None, the
    query's SQL) when the whole source is needed.

    Exact: see `time_window` (a full page from a window is the same page as from every row).
    """
    from loop_tui.btql.time_window import segment_paths, segment_spans, windows

    table_name, object_ids = compiled.window_objects
    spans = [span for p in segment_paths(ws, table_name, object_ids) for span in segment_spans(p)]
    bounds = windows(spans, int(compiled.limit or 0), compiled.window_sort == "desc")
    for bound in bounds:
        _, windowed, _ = compile_query(q, ws, con, project, tz_offset=tz_offset, limit=limit, created_window=bound,
                                       views=views)
        table = execute(con, windowed, timeout_s=_left(deadline), cancel=cancel)
        if table.num_rows > int(compiled.limit or 0):  # the page and the row telling there is more
            return table, windowed.sql
    if bounds:
        return None, compiled.sql  # the filter keeps few of the newest rows: one more pass would not pay
    bound = _cutoff(con, compiled, deadline, cancel)
    if bound is not None:
        _, windowed, _ = compile_query(q, ws, con, project, tz_offset=tz_offset, limit=limit, created_window=bound,
                                       views=views)
        table = execute(con, windowed, timeout_s=_left(deadline), cancel=cancel)
        if table.num_rows > int(compiled.limit or 0):  # always, unless the data changed under the query
            return table, windowed.sql
    return None, compiled.sql


def _cutoff(con: Any, compiled: Compiled, deadline: float | None, cancel: Any) -> Any:
    """The `created` of the row just past the first page, sorted by `created` alone; None if there is none.

    Every row of the page sorts at or before it by `created`, so `created` on the near side of it is a
    window holding the whole page, ties included (`time_window`'s argument, with an exact bound). Reading
    `created` alone skips the `id` every page sorts by last: decoding that string column for every matching
    row was half the time of a page of a one-segment project.
    """
    if compiled.cutoff_sql is None:
        return None
    assert_single_select(compiled.cutoff_sql)
    found = execute(con, replace(compiled, sql=compiled.cutoff_sql, params=compiled.cutoff_params),
                    timeout_s=_left(deadline), cancel=cancel)
    return found.column(0)[0].as_py() if found.num_rows else None


SMALL_RESULT_ROWS = 10_000
# DuckDB warns that Arrow output of an `execute` result copies the rows; for the small results it is used
# for here (see `_small_result`) that copy is the cheaper path.
warnings.filterwarnings("ignore", message="Arrow output on a DB-API result makes an extra copy", category=UserWarning)


def _small_result(compiled: Compiled) -> bool:
    """Whether the result is a page of rows or an aggregate (usually a few groups), not a bulk read."""
    if compiled.aggregate:
        return True
    return compiled.shape != "traces" and compiled.limit is not None and compiled.limit <= SMALL_RESULT_ROWS


def execute(con: Any, compiled: Compiled, *, timeout_s: float | None, cancel: Any = None) -> Any:
    """Execute with a watchdog that interrupts DuckDB on time-out or cancellation."""
    import duckdb

    done = threading.Event()
    reason: list[str] = []

    def watch() -> None:
        deadline = None if timeout_s is None else time.monotonic() + float(timeout_s)
        while not done.wait(0.02):
            if cancel is not None and cancel.is_set():
                reason.append("cancelled")
            elif deadline is not None and time.monotonic() > deadline:
                reason.append("timeout")
            if reason:
                con.interrupt()
                return

    watcher = None
    if timeout_s is not None or cancel is not None:
        watcher = threading.Thread(target=watch, name="btql-watchdog", daemon=True)
        watcher.start()
    try:
        if cancel is not None and cancel.is_set():
            raise BtqlError("runtime", "cancelled", "The query was cancelled.")
        if _small_result(compiled):
            # `con.sql` binds the query twice (once for the relation's schema, once to run it): ~0.7 ms of a
            # 3 ms count. `execute` binds once; its extra copy of the rows is nothing for a page or a summary.
            return con.execute(compiled.sql, compiled.params or None).to_arrow_table()
        # `con.sql(...).to_arrow_table()` streams the result straight into Arrow; `execute(...)` would make
        # an extra copy of every row (3x slower on a 2M-row result).
        return con.sql(compiled.sql, params=compiled.params or None).to_arrow_table()
    except duckdb.InterruptException:
        if reason and reason[0] == "timeout":
            raise BtqlError("runtime", "timeout", f"The query took longer than {timeout_s:g} s and was stopped.",
                            hint="Narrow it with a time range on created, or add a limit.") from None
        raise BtqlError("runtime", "cancelled", "The query was cancelled.") from None
    except duckdb.OutOfMemoryException:
        raise BtqlError("runtime", "out_of_memory", "The query needs more memory than is available.",
                        hint="Add a filter or a limit, or aggregate with dimensions/measures.") from None
    except (duckdb.ConversionException, duckdb.InvalidInputException, duckdb.OutOfRangeException) as exc:
        from loop_tui.store.health import damage_sentence

        damaged = damage_sentence(exc)  # the query reached an object whose segment is damaged
        if damaged:
            raise BtqlError("runtime", "damaged_segment", damaged) from None
        log.debug("btql runtime conversion error: %s\n%s", exc, compiled.sql)
        raise BtqlError("runtime", "bad_value", "A value in the data could not be converted while running the query.",
                        hint="Convert fields explicitly with to_number(…) or to_string(…).") from None
    except duckdb.Error as exc:
        # (`run` logs it, once it knows the cause is not a damaged file; kept as the cause for that)
        raise BtqlError("runtime", "query_failed", "The query could not be run.",
                        hint="This is a bug in Loop TUI's BTQL compiler; simplify the query and report it.") from exc
    finally:
        done.set()
        if watcher is not None:
            watcher.join(timeout=1)
