"""The function allowlist: every function BTQL accepts, with its arity and result type.

Anything not listed here is `unknown_function`: no DuckDB function, table function or file reader is
reachable from a query except through the lowering written in `binder.py` for these names.
"""

from __future__ import annotations

from dataclasses import dataclass

from loop_tui.btql import ast as A


@dataclass(frozen=True)
class FunctionSpec:
    """Name, arity bounds (max None = variadic), result type ('same' = type of arg 0), aggregate flag."""

    min_args: int
    max_args: int | None
    result: str
    aggregate: bool = False
    doc: str = ""


BUCKETS = ("second", "minute", "hour", "day", "week", "month", "year")

FUNCTIONS: dict[str, FunctionSpec] = {
    **{u: FunctionSpec(1, 1, "datetime", doc=f"Truncate a time to the start of its {u} (tz_offset aware).") for u in BUCKETS},
    "date_trunc": FunctionSpec(2, 2, "datetime", doc="date_trunc('day', created): truncate to a unit."),
    "now": FunctionSpec(0, 0, "datetime", doc="The query's start time."),
    "current_timestamp": FunctionSpec(0, 0, "datetime", doc="Same as now()."),
    "current_date": FunctionSpec(0, 0, "datetime", doc="Today at 00:00 UTC."),
    "lower": FunctionSpec(1, 1, "str", doc="Lower-case text."),
    "upper": FunctionSpec(1, 1, "str", doc="Upper-case text."),
    "concat": FunctionSpec(1, None, "str", doc="Join values as text (nulls skipped)."),
    "len": FunctionSpec(1, 1, "int", doc="Length of an array or a string."),
    "length": FunctionSpec(1, 1, "int", doc="Same as len()."),
    "contains": FunctionSpec(2, 2, "bool", doc="contains(haystack, needle): same as INCLUDES."),
    "includes": FunctionSpec(2, 2, "bool", doc="Same as contains()."),
    "json_extract": FunctionSpec(2, 2, "json", doc="json_extract(text, 'key'): parse JSON text and take a key; null on bad JSON."),
    "coalesce": FunctionSpec(1, None, "same", doc="First non-null argument."),
    "nullif": FunctionSpec(2, 2, "same", doc="null if a = b, else a."),
    "least": FunctionSpec(1, None, "same", doc="Smallest non-null argument."),
    "greatest": FunctionSpec(1, None, "same", doc="Largest non-null argument."),
    "round": FunctionSpec(1, 2, "num", doc="round(x, digits)."),
    "abs": FunctionSpec(1, 1, "num", doc="Absolute value."),
    "floor": FunctionSpec(1, 1, "num", doc="Round down."),
    "ceil": FunctionSpec(1, 1, "num", doc="Round up."),
    "to_string": FunctionSpec(1, 1, "str", doc="Cast to text (null on failure)."),
    "to_number": FunctionSpec(1, 1, "num", doc="Cast to a number (null on failure)."),
    "to_integer": FunctionSpec(1, 1, "int", doc="Cast to an integer (null on failure)."),
    "to_boolean": FunctionSpec(1, 1, "bool", doc="Cast to a boolean (null on failure)."),
    "to_datetime": FunctionSpec(1, 1, "datetime", doc="Cast to a timestamp (null on failure)."),
    "to_date": FunctionSpec(1, 1, "datetime", doc="Cast to a date (null on failure)."),
    "to_interval": FunctionSpec(1, 1, "interval", doc="Cast text such as '2 hours' to an interval."),
    "search": FunctionSpec(1, 1, "bool", doc="search('q'): MATCH over input, output, expected, metadata, span_attributes, tags."),
    "estimated_cost": FunctionSpec(0, 0, "num", doc="The span's cost in USD from metrics and the model price table."),
    "count": FunctionSpec(1, 1, "int", True, "count(x) counts non-null values; count(1) or count(*) counts rows."),
    "count_distinct": FunctionSpec(1, 1, "int", True, "Exact number of distinct non-null values."),
    "sum": FunctionSpec(1, 1, "num", True, "Sum of the values."),
    "avg": FunctionSpec(1, 1, "num", True, "Mean of the non-null values."),
    "min": FunctionSpec(1, 1, "same", True, "Smallest value."),
    "max": FunctionSpec(1, 1, "same", True, "Largest value."),
    "any_value": FunctionSpec(1, 1, "same", True, "Some non-null value of the group."),
    "percentile": FunctionSpec(2, 2, "num", True, "percentile(x, 0.95): continuous (interpolated) percentile."),
}
AGGREGATES = frozenset(name for name, spec in FUNCTIONS.items() if spec.aggregate)


def is_aggregate_expr(expr: object) -> bool:
    """True if an aggregate function appears anywhere in `expr`."""
    return any(isinstance(n, A.Function) and n.name.lower() in AGGREGATES for n in A.walk(expr))
