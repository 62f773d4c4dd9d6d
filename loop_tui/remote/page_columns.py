"""A page of Braintrust rows (`/btql` with `fmt: "jsonl"`) turned into the store's Arrow columns in one step.

Pulling row by row spent most of its time in Python: every JSON field of every row was decoded from the
page and encoded again for the store. Here DuckDB reads the page's lines with typed columns (the JSON
fields stay JSON text, never becoming Python objects) and builds the store's columns, outside the GIL, so
the next page downloads meanwhile. The result is what `schema.normalize_span`/`normalize_dataset_row` would
make of each row after `local_rows.to_local`, plus `__xact` (the remote `_xact_id` as a number) and
`__delete` (Braintrust's delete marker). A page with anything the columnar path does not check as strictly
(a `created` that is missing or not ISO text, a score that is not a number, a non-string tag, ...) goes
through those Python normalisers instead, so both paths accept and reject exactly the same rows.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from loop_tui.remote.local_rows import REMOTE_XACT, to_local, xact_int
from loop_tui.store import schema as sch
from loop_tui.store.batch import ColumnBatch

HELPER_COLUMNS = ("__xact", "__delete")
_TYPES = {**{f: "JSON" for f in sch.SPAN_JSON_FIELDS}, "output": "JSON", "id": "VARCHAR", "_xact_id": "VARCHAR",
          "created": "VARCHAR", "span_id": "VARCHAR", "root_span_id": "VARCHAR", "span_parents": "JSON",
          "is_root": "JSON", "scores": "JSON", "metrics": "JSON", "tags": "JSON", "_object_delete": "JSON"}
_local = threading.local()  # one DuckDB connection per reading thread


def _select(table: str, path: str) -> str:
    """The SQL turning the page file at `path` into the store's columns of `table`, plus `__slow`.

    Braintrust validates what it stores (ids and tags are strings, scores and metrics numbers), so the
    checks here are the ones a cast can fail: a value that does not cast, or a `created` that is not ISO
    text, sends the page to the Python normalisers, which give the exact error or value.
    """
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in _TYPES.items()) + "}"
    known = sch.DATASET_SCHEMA.names if table == "dataset" else sch.SPAN_SCHEMA.names
    dropped = {"_pagination_key", "org_id", "log_id", "_meta_model", "_span_name", "_span_type", "_extra"}
    patch = json.dumps(dict.fromkeys(sorted(set(known) | dropped)))
    json_fields = sch.DATASET_JSON_FIELDS if table == "dataset" else sch.SPAN_JSON_FIELDS
    casts = {
        "id": "j.id",
        "created": "TRY_CAST(j.created AS TIMESTAMPTZ)",
        "span_id": "coalesce(NULLIF(j.span_id, ''), j.id)",
        "root_span_id": "coalesce(NULLIF(j.root_span_id, ''), NULLIF(j.span_id, ''), j.id)",
        "tags": "TRY_CAST(j.tags AS VARCHAR[])",
        "_extra": f"json_merge_patch(x.json, '{patch}', json_object('{REMOTE_XACT}', coalesce(j._xact_id, '')))",
        "__xact": "coalesce(TRY_CAST(j._xact_id AS BIGINT), 0)",
        "__delete": "coalesce(TRY_CAST(j._object_delete AS BOOLEAN), false)",
        **{f: f"j.{f}" for f in json_fields},
    }
    raw = ["created", "tags", "_object_delete", "is_root"]  # passed out of the inner query to check casts
    failed = ["r_created IS NULL", "created IS NULL", "(r_tags IS NOT NULL AND tags IS NULL)",
              "(r__object_delete IS NOT NULL AND TRY_CAST(r__object_delete AS BOOLEAN) IS NULL)",
              "(r_is_root IS NOT NULL AND TRY_CAST(r_is_root AS BOOLEAN) IS NULL)"]
    if table == "dataset":
        casts["is_root"] = "coalesce(TRY_CAST(j.is_root AS BOOLEAN), true)"
        raw += ["expected", "output"]
        failed.append("(r_expected IS NULL AND r_output IS NOT NULL)")  # `output` as `expected`: see schema
    else:
        casts.update({
            "span_parents": "TRY_CAST(j.span_parents AS VARCHAR[])",
            "is_root": "coalesce(TRY_CAST(j.is_root AS BOOLEAN), j.span_parents IS NULL OR j.span_parents = '[]')",
            "scores": "TRY_CAST(j.scores AS MAP(VARCHAR, DOUBLE))",
            "metrics": "TRY_CAST(j.metrics AS MAP(VARCHAR, DOUBLE))",
            "__model": "json_extract(j.metadata, '$.model')",
            "__name": "json_extract(j.span_attributes, '$.name')",
            "__type": "json_extract(j.span_attributes, '$.type')",
        })
        raw += ["span_parents", "scores", "metrics"]
        failed += ["(r_span_parents IS NOT NULL AND span_parents IS NULL)", "(r_scores IS NOT NULL AND scores IS NULL)",
                   "(r_metrics IS NOT NULL AND metrics IS NULL)"]
    inner = ", ".join([f"{expr} AS \"{name}\"" for name, expr in casts.items()] + [f"j.{c} AS r_{c}" for c in raw])
    outer = [name for name in casts if not name.startswith("__") or name in HELPER_COLUMNS]
    if table != "dataset":
        outer += [f"CASE WHEN json_type({src}) = 'VARCHAR' THEN {src}->>'$' END AS {name}"
                  for name, src in (("_meta_model", "__model"), ("_span_name", "__name"), ("_span_type", "__type"))]
    return (f"SELECT {', '.join(outer)}, {' OR '.join(failed)} AS __slow FROM (SELECT {inner} "
            f"FROM read_json('{path}', format='newline_delimited', columns={columns}) j "
            f"POSITIONAL JOIN read_json_objects('{path}', format='newline_delimited') x)")


@contextlib.contextmanager
def _page_file(raw: bytes) -> Iterator[str]:
    """A path DuckDB can read `raw` from. On Linux an anonymous in-memory file (`memfd`, read through
    /proc/self/fd): a pull killed mid-page leaves nothing behind, where a temp file stayed in /tmp (~430 KB a
    page); elsewhere a temp file, removed afterwards."""
    if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
        fd = os.memfd_create("loop-tui-page")
        try:
            with os.fdopen(os.dup(fd), "wb") as out:
                out.write(raw)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    fd, path = tempfile.mkstemp(prefix="loop-tui-page-", suffix=".jsonl")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
        yield path
    finally:
        os.unlink(path)


def page_table(raw: bytes, table: str) -> pa.Table:
    """The rows of one JSONL page in `table`'s store columns (+ `__xact`, `__delete`); ValueError if not JSONL."""
    import duckdb

    if not raw.strip():
        return empty_table(table)
    con = getattr(_local, "con", None)
    if con is None:
        con = _local.con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET threads = 1")  # pages are small; the reader runs beside the writer
    with _page_file(raw) as path:
        try:
            result = con.sql(_select(table, path.replace("'", "''"))).to_arrow_table()
        except duckdb.Error as exc:
            raise ValueError(f"not a JSONL page ({type(exc).__name__})") from None
    slow = result.column("__slow")
    if slow.null_count == 0 and not any(slow.to_pylist()):
        return _conform(table, result.drop_columns(["__slow"]))
    return rows_table(table, _lines(raw))


def _lines(raw: bytes) -> list[dict[str, Any]]:
    rows = []
    for line in raw.splitlines():
        if line.strip():
            row = json.loads(line)
            if isinstance(row, dict) and isinstance(row.get("id"), str):
                rows.append(row)
    return rows


def rows_table(table: str, rows: list[dict[str, Any]]) -> pa.Table:
    """Decoded rows through the store's own normalisers (the exact path; raises a row's one-sentence error)."""
    normalize = sch.normalize_dataset_row if table == "dataset" else sch.normalize_span
    records = [normalize(to_local(row), f"row {row.get('id')}") for row in rows]
    data = sch.to_arrow(table, records)
    return data.append_column("__xact", pa.array([xact_int(r.get("_xact_id")) for r in rows], pa.int64())) \
               .append_column("__delete", pa.array([bool(r.get("_object_delete")) for r in rows], pa.bool_()))


def empty_table(table: str) -> pa.Table:
    """No rows, with the columns `page_table` returns."""
    return rows_table(table, [])


def _conform(table: str, result: pa.Table) -> pa.Table:
    """Columns in the store's order and types (the store's own fields null), then the helper columns."""
    schema = sch.TABLES[table][0]
    n = result.num_rows
    arrays = []
    for field in schema:
        if field.name in result.column_names:
            arrays.append(result.column(field.name).cast(field.type))
        else:
            arrays.append(pa.nulls(n, field.type))
    arrays.append(result.column("__xact").cast(pa.int64()))
    arrays.append(result.column("__delete").cast(pa.bool_()))
    names = [*schema.names, *HELPER_COLUMNS]
    return pa.Table.from_arrays(arrays, names=names)


def page_top_xact(page: pa.Table) -> int:
    """The newest remote `_xact_id` on a page (0 when it has no rows)."""
    import pyarrow.compute as pc

    return int(pc.max(page.column("__xact")).as_py() or 0)


class PageBatch:
    """Pages of one object waiting to be written together (Arrow tables, newest versions first)."""

    def __init__(self) -> None:
        self.pages: list[Any] = []
        self.rows = 0

    def __len__(self) -> int:
        return self.rows

    def add(self, page: Any) -> None:
        """Keep one page."""
        self.pages.append(page)
        self.rows += page.num_rows

    def newest(self) -> Any:
        """The pages as one table with only the first (newest) version of each id; None when empty."""
        if not self.rows:
            return None
        import pyarrow.compute as pc

        data = pa.concat_tables(self.pages)
        if pc.count_distinct(data.column("id")).as_py() == data.num_rows:
            return data  # the usual case, told without a Python object per id
        seen: set[str] = set()
        keep = [not (row_id in seen or seen.add(row_id)) for row_id in data.column("id").to_pylist()]  # type: ignore[func-returns-value]
        return data if all(keep) else data.filter(pa.array(keep))


class ArrowRows(ColumnBatch):
    """A `ColumnBatch` that is already an Arrow table in the store's columns (a pulled page batch)."""

    def __init__(self, table: str, data: Any) -> None:
        super().__init__(table)
        self._data = data
        self._size = data.num_rows

    @property
    def ids(self) -> list[str]:
        """The row ids, in order."""
        return self._data.column("id").slice(0, 200).to_pylist()

    def to_arrow(self, **constant: Any) -> Any:
        """The rows with `constant` columns set on every row."""
        data = self._data
        for name, value in constant.items():
            index = data.schema.get_field_index(name)
            column = pa.array([value] * data.num_rows, data.schema.field(index).type)
            data = data.set_column(index, name, column)
        return data
