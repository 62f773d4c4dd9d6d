"""Last line of defence: whatever the compiler emits must be one SELECT calling only allowlisted functions.

The compiler never pastes user text into SQL except quoted aliases, so this should never fire; it exists so
that a compiler bug cannot turn into file access (`read_csv`), a second statement or a settings change. The
connection is sandboxed as well (`Workspace.connect(sandboxed=True)`: no external access, locked config).
"""

from __future__ import annotations

import re

from loop_tui.btql.errors import BtqlError

# Every function (and keyword followed by "(") the compiler and binder emit.
ALLOWED_CALLS = frozenset((
    "abs", "all", "and", "any_value", "arg_min", "array_to_string", "as", "asc", "avg", "between", "by",
    "cardinality", "case", "cast", "ceil", "coalesce", "concat", "contains", "count", "date_trunc",
    "desc", "distinct", "else", "end", "epoch_us", "escape", "exclude", "exists", "false", "filter",
    "first", "floor", "from", "greatest", "group", "hash", "having", "ilike", "in", "is", "isfinite",
    "join", "json_array_length", "json_contains", "json_each", "json_extract", "json_extract_string",
    "json_keys", "json_tree", "json_type", "json_valid", "last", "lateral", "least", "len", "length",
    "like", "limit", "list", "list_contains", "list_extract", "list_filter", "list_has_all",
    "list_position", "lower", "lpad", "map", "map_from_entries", "map_keys", "map_values", "max", "min",
    "not", "null", "nullif", "nulls", "on", "or", "order", "over", "quantile_cont",
    "regexp_split_to_array", "round", "row_number", "select", "strftime", "sum", "then", "timezone",
    "to_days", "to_hours", "to_json", "to_microseconds", "to_milliseconds", "to_minutes", "to_months",
    "to_seconds", "to_timestamp", "to_years", "true", "try_cast", "unnest", "upper", "using", "when",
    "where", "with",
))


_passed: dict[str, None] = {}  # SQL texts already checked (a pure check: the same text passes again)
_PASSED_MAX = 512


def assert_single_select(sql: str) -> None:
    """Raise `BtqlError(runtime/internal)` unless `sql` is one SELECT calling only allowlisted functions."""
    if sql in _passed:
        return  # DuckDB's parse of a long query is ~0.3 ms, a tenth of a small query's whole time
    _check(sql)
    if len(_passed) >= _PASSED_MAX:
        _passed.clear()
    _passed[sql] = None


def _check(sql: str) -> None:
    import duckdb

    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error:
        raise BtqlError("runtime", "internal", "The query could not be compiled.") from None
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise BtqlError("runtime", "internal", "The compiled query was not a single SELECT; it was not run.")
    # Aliases are quoted user text and string literals are ours; scan only the SQL around them.
    bare = re.sub(r"'(?:[^']|'')*'", "''", re.sub(r'"(?:[^"]|"")*"', '""', sql)).lower()
    for name in re.findall(r"\b([a-z_][a-z0-9_]*)\s*\(", bare):
        if name not in ALLOWED_CALLS:
            raise BtqlError("runtime", "internal", f"The compiled query called `{name}`, which BTQL does not allow; "
                            "it was not run.")
