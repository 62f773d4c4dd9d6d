"""What a data source holds: fixed Braintrust columns plus the JSON keys actually present in the data.

Keys are sampled from the view (a reservoir of rows; a key the sample missed is confirmed exactly on use),
once per workspace generation, and cached. The binder uses them to reject `metadata.modle` with a
did-you-mean hint; below the first level JSON is schemaless, so deeper paths are always accepted. The
sample reads every row's JSON, seconds at millions of spans, so it is taken only when a query first names a
JSON or map key (`LazyKeys`): the logs page's first page, its count and `select: *` never wait for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# name -> (binder type, SQL over the row, description). Types: str int num bool datetime json map array.
_SPAN_COMMON: dict[str, tuple[str, str, str]] = {
    "id": ("str", '"id"', "Row id."),
    "_xact_id": ("int", '"_xact_id"', "Transaction id of the row's latest write (monotonic)."),
    "_pagination_key": ("str", "(lpad(CAST(epoch_us(\"created\") AS VARCHAR), 20, '0') || ':' || \"id\")",
                        "A stable, time-ordered key for cursor pagination."),
    "created": ("datetime", '"created"', "Creation time (UTC)."),
    "project_id": ("str", '"project_id"', "Owning project id."),
}
SPAN_COLUMNS: dict[str, tuple[str, str, str]] = {
    **_SPAN_COMMON,
    "experiment_id": ("str", '"experiment_id"', "Experiment id (null in project logs)."),
    "span_id": ("str", '"span_id"', "Span id."),
    "root_span_id": ("str", '"root_span_id"', "Trace id (the root span's span_id)."),
    "span_parents": ("array", '"span_parents"', "Parent span ids; empty for the root."),
    "is_root": ("bool", '"is_root"', "True for the root span of a trace."),
    "input": ("json", '"input"', "The span's input (any JSON)."),
    "output": ("json", '"output"', "The span's output (any JSON)."),
    "expected": ("json", '"expected"', "The expected output (any JSON)."),
    "error": ("json", '"error"', "The error, if the span failed (string or object)."),
    "scores": ("map", '"scores"', "Scores by name, 0..1 (null = skipped)."),
    "metadata": ("json", '"metadata"', "Free-form metadata (model, user_id, …)."),
    "metrics": ("map", '"metrics"', "Numbers: start, end, prompt_tokens, completion_tokens, tokens, …"),
    "tags": ("array", '"tags"', "Tags (on root spans)."),
    "span_attributes": ("json", '"span_attributes"', "name, type (llm, tool, task, score, …), purpose."),
    "origin": ("json", '"origin"', "Where the row came from (object_type, object_id, id)."),
    "context": ("json", '"context"', "Caller context."),
}
DATASET_COLUMNS: dict[str, tuple[str, str, str]] = {
    **_SPAN_COMMON,
    "dataset_id": ("str", '"dataset_id"', "Dataset id."),
    "input": ("json", '"input"', "The record's input."),
    "expected": ("json", '"expected"', "The expected output."),
    "metadata": ("json", '"metadata"', "Free-form metadata."),
    "tags": ("array", '"tags"', "Tags."),
    "origin": ("json", '"origin"', "Where the record came from."),
    "span_id": ("str", '"span_id"', "Span id."),
    "root_span_id": ("str", '"root_span_id"', "Root span id."),
    "is_root": ("bool", '"is_root"', "Always true for dataset records."),
}
OBJECT_COLUMNS: dict[str, tuple[str, str, str]] = {
    "id": ("str", '"id"', "Object id."),
    "_xact_id": ("int", '"_xact_id"', "Version (transaction id)."),
    "created": ("datetime", '"created"', "When this version was saved."),
    "project_id": ("str", '"project_id"', "Owning project id."),
    "name": ("str", '"name"', "Name (unique per project)."),
    "slug": ("str", '"name"', "Same as name."),
    "function_type": ("str", '"kind"', "prompt or scorer."),
    "description": ("json", "json_extract(\"data\", '$.description')", "Description."),
    "metadata": ("json", "json_extract(\"data\", '$.metadata')", "Metadata."),
    "prompt_data": ("json", '"data"', "The saved object (messages, model, params …)."),
    "function_data": ("json", '"data"', "The saved object (type, prompt or code …)."),
    "data": ("json", '"data"', "The saved object."),
}
# Hot JSON paths the store keeps in their own columns (much faster than json_extract).
SHREDDED = {("metadata", "model"): '"_meta_model"', ("span_attributes", "name"): '"_span_name"',
            ("span_attributes", "type"): '"_span_type"'}
# Columns of the summary shape's metrics map (research §4.6).
SUMMARY_METRICS = (
    "prompt_tokens", "completion_tokens", "prompt_cached_tokens", "prompt_cache_creation_tokens", "tokens",
    "total_tokens", "estimated_cost", "llm_calls", "tool_calls", "errors", "llm_errors", "tool_errors", "start",
    "end", "duration", "llm_duration", "time_to_first_token",
)
STAR_HIDDEN = {"_pagination_key", "slug", "function_type", "description", "metadata", "prompt_data", "function_data"}


class LazyKeys(Mapping[str, dict[str, str]]):
    """The sampled keys of a source, sampled on first look: {column: {key: type}} like `sampled_keys`."""

    def __init__(self, load: Callable[[], Mapping[str, dict[str, str]]]) -> None:
        self._load = load
        self._keys: Mapping[str, dict[str, str]] | None = None

    @property
    def loaded(self) -> bool:
        """Whether the sample has been taken (tests use it to see that a query did not need it)."""
        return self._keys is not None

    def _sample(self) -> Mapping[str, dict[str, str]]:
        if self._keys is None:
            self._keys = self._load()
        return self._keys

    def __getitem__(self, column: str) -> dict[str, str]:
        return self._sample()[column]

    def __iter__(self) -> Iterator[str]:
        return iter(self._sample())

    def __len__(self) -> int:
        return len(self._sample())


@dataclass
class SourceSchema:
    """Columns of one source kind plus sampled keys: {column: {key: type or 'json' when mixed}}."""

    table: str
    columns: dict[str, tuple[str, str, str]]
    keys: Mapping[str, dict[str, str]] = field(default_factory=dict)
    # confirm(column, key) -> bool: an exact check for keys the sample missed (rare keys).
    confirm: Any = None
    # {map column: {key: SQL of its typed copy}} for the keys the store keeps typed (see `typed_fields`).
    typed: dict[str, dict[str, str]] = field(default_factory=dict)

    def has_key(self, column: str, key: str) -> bool:
        """True if `key` occurs under `column` in the sample or, failing that, anywhere in the data."""
        if key in self.keys.get(column, {}):
            return True
        return bool(self.confirm is not None and self.confirm(column, key))

    def star_columns(self) -> list[str]:
        """Columns `select: *` returns, in order."""
        hidden = STAR_HIDDEN if self.columns is not OBJECT_COLUMNS else {"slug", "function_type", "prompt_data",
                                                                         "function_data", "_pagination_key"}
        return [c for c in self.columns if c not in hidden or (self.columns is not OBJECT_COLUMNS and c == "metadata")]


_JSON_TYPES = {"VARCHAR": "str", "BIGINT": "num", "UBIGINT": "num", "DOUBLE": "num", "BOOLEAN": "bool",
               "OBJECT": "json", "ARRAY": "json", "NULL": "null"}
SAMPLE_ROWS = 20_000
NEWEST_ROWS_PER_SAMPLED = 10  # the sample is drawn from the newest 200,000 rows or so (see `sampled_keys`)
_cache: dict[tuple[str, int, str], dict[str, dict[str, str]]] = {}
_confirmed: dict[tuple, bool] = {}
_cache_lock = threading.Lock()


def _recall(cache: dict[Any, Any], key: Any) -> Any:
    """What `cache` holds for `key` (None if nothing), read under the caches' lock."""
    with _cache_lock:
        return cache.get(key)


def _remember(cache: dict[Any, Any], key: Any, value: Any, limit: int = 64) -> None:
    """Store `value` under the caches' lock; a cache past `limit` entries starts over (old generations)."""
    with _cache_lock:
        if len(cache) > limit:
            cache.clear()
        cache[key] = value


def columns_for(table: str) -> dict[str, tuple[str, str, str]]:
    """The fixed columns of a view (project_logs/experiment, dataset, catalog)."""
    if table in ("project_logs", "experiment"):
        return SPAN_COLUMNS
    if table == "dataset":
        return DATASET_COLUMNS
    return OBJECT_COLUMNS


def sampled_keys(con: Any, root: str, generation: int, table: str,
                 newest: Callable[[int], Any] | None = None) -> dict[str, dict[str, str]]:
    """{json-or-map column: {first-level key: type}} for `table`, cached per workspace generation.

    `newest(rows)` may give a time bound holding about `rows` times the sample's size of the newest rows
    (`time_window.newest_rows_bound`): the reservoir is then drawn from those, so the sample reads a few
    segments, not all of them (seconds at ten million spans); keys only older rows have are still confirmed
    exactly on use.
    """
    import duckdb

    key = (root, generation, table)
    hit = _recall(_cache, key)
    if hit is not None:
        return hit
    result: dict[str, dict[str, str]] = {}
    cols = columns_for(table)
    if table in ("project_logs", "experiment", "dataset"):
        json_cols = [c for c, (t, sql, _) in cols.items() if t == "json" and sql == f'"{c}"'] + ["_extra"]
        map_cols = [c for c, (t, _, _) in cols.items() if t == "map"]
        # A reservoir sample keeps this fast at a million rows; keys it misses are confirmed exactly on use.
        bound = newest(SAMPLE_ROWS * NEWEST_ROWS_PER_SAMPLED) if newest is not None else None
        rows = table
        if bound is not None:  # a subquery: a sample clause next to WHERE samples the rows before the filter
            rows = f"(SELECT * FROM {table} WHERE \"created\" >= TIMESTAMPTZ '{bound.isoformat()}')"
        sample = f"(SELECT * FROM {rows} USING SAMPLE {SAMPLE_ROWS} ROWS)"
        parts = [
            f"SELECT '{c}' AS col, je.key AS k, je.type AS t FROM sample_rows v, json_each(v.\"{c}\") je "
            f"WHERE json_type(v.\"{c}\") = 'OBJECT'" for c in json_cols
        ] + [f"SELECT '{c}' AS col, unnest(map_keys(\"{c}\")) AS k, 'DOUBLE' AS t FROM sample_rows" for c in map_cols]
        sql = (f"WITH sample_rows AS {sample} SELECT col, k, list(DISTINCT t) FROM ("
               + " UNION ALL ".join(parts) + ") GROUP BY col, k")
        try:
            sampled = con.execute(sql).fetchall()
        except duckdb.InvalidInputException:
            # A damaged object's rows raise when read (store.views); the sample is only a hint, and a
            # query on another object must still run: keys are then confirmed exactly on use.
            return {}
        for col, k, types in sampled:
            kinds = {_JSON_TYPES.get(t, "json") for t in types} - {"null"}
            result.setdefault(col, {})[k] = kinds.pop() if len(kinds) == 1 else "json"
    _remember(_cache, key, result)
    return result


_typed_cache: dict[tuple[str, int, str], dict[str, dict[str, str]]] = {}


def typed_fields(con: Any, root: str, generation: int, table: str) -> dict[str, dict[str, str]]:
    """{map column: {key: SQL}} of the typed copies `<table>_btql` has (store.typed), cached per generation."""
    cache_key = (root, generation, table)
    hit = _recall(_typed_cache, cache_key)
    if hit is not None:
        return hit
    found = typed_fields_of_view(con, f"{table}_btql")
    _remember(_typed_cache, cache_key, found)
    return found


def typed_fields_of_view(con: Any, view: str) -> dict[str, dict[str, str]]:
    """{map column: {key: SQL}} of the typed copies (store.typed) a BTQL view has, read from its columns' types."""
    import duckdb

    from loop_tui.store.typed import TYPED, key_of_field

    found: dict[str, dict[str, str]] = {}
    for column, typed in TYPED.items():
        try:
            kind = con.sql(f"SELECT {typed} FROM {view} LIMIT 0").types[0]
        except duckdb.Error:
            continue  # no segment has typed copies (e.g. a workspace of store format 2)
        names = [name for name, _ in kind.children]
        found[column] = {key_of_field(n): f'"{typed}"."{n}"' for n in names if n != "~"}
    return found


def key_exists(con: Any, root: str, generation: int, table: str, column: str, key: str) -> bool:
    """Exact (full-scan, cached) check that `column` has `key` in some row of `table`."""
    import duckdb

    cache_key = (root, generation, table, column, key)
    hit = _recall(_confirmed, cache_key)
    if hit is not None:
        return hit
    cols = columns_for(table)
    if column not in cols and column != "_extra":
        return False
    ctype = cols[column][0] if column in cols else "json"
    if ctype == "map":
        sql = f'SELECT 1 FROM {table} WHERE list_contains(map_keys("{column}"), $k) LIMIT 1'
    else:
        sql = f'SELECT 1 FROM {table} WHERE json_exists("{column}", $path) LIMIT 1'
    path = '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
    # fetchall, not fetchone: a half-read result blocks the next `con.sql` on this connection (DuckDB 2).
    try:
        found = bool(con.execute(sql, {"k": key} if ctype == "map" else {"path": path}).fetchall())
    except duckdb.InvalidInputException:
        return True  # a damaged object is in the way of the scan: let the query itself say what is damaged
    _remember(_confirmed, cache_key, found, limit=4096)
    return found
