"""Lowering of each allowlisted function to DuckDB SQL (see `functions.FUNCTIONS` for the list)."""

from __future__ import annotations

import re
from typing import Any

from loop_tui.btql import ast as A
from loop_tui.btql.binder import Binder, Bound, Scope, _err, json_path, unify
from loop_tui.btql.functions import BUCKETS

_CASTS = {"to_number": ("DOUBLE", "num"), "to_integer": ("BIGINT", "int"), "to_boolean": ("BOOLEAN", "bool"),
          "to_interval": ("INTERVAL", "interval")}


_FIXED_UNITS_US = {"second": 1_000_000, "minute": 60_000_000, "hour": 3_600_000_000, "day": 86_400_000_000}
_PLAIN_COLUMN = re.compile(r'"[A-Za-z_][A-Za-z0-9_]*"')


def _bucket(b: Binder, unit: str, t: str) -> str:
    # Truncate in local time (UTC minus tz_offset minutes, JS sign), then return the UTC instant.
    size = _FIXED_UNITS_US.get(unit)
    if size is not None and _PLAIN_COLUMN.fullmatch(t):
        # Units of fixed length by integer arithmetic on the epoch: ~5x faster than date_trunc on a
        # TIMESTAMPTZ (which goes through the ICU calendar), and exact (floor modulo, also before 1970).
        local = f"epoch_us({t})"
        back = ""
        if b.tz_offset:
            tz = b.p(int(b.tz_offset), "INTEGER")
            local = f"(epoch_us({t}) - CAST({tz} AS BIGINT) * 60000000)"
            back = f" + CAST({tz} AS BIGINT) * 60"
        return f"to_timestamp(({local} - (({local} % {size}) + {size}) % {size}) // 1000000{back})"
    if not b.tz_offset:
        return f"timezone('UTC', date_trunc('{unit}', timezone('UTC', {t})))"
    tz = b.p(int(b.tz_offset), "INTEGER")
    return f"timezone('UTC', date_trunc('{unit}', timezone('UTC', {t}) - to_minutes({tz})) + to_minutes({tz}))"


def bind_function(b: Binder, name: str, node: A.Function, scope: Scope) -> Bound:
    """Bind `name(args)`; arity and aggregate context are already checked."""
    args = node.args
    if name in ("count", "count_distinct", "sum", "avg", "min", "max", "any_value", "percentile"):
        return _aggregate(b, name, node, scope)
    if name == "search":
        return _search(b, node, scope)
    if name == "estimated_cost":
        return Bound(b.cost(), "num")
    if name in ("now", "current_timestamp"):
        return Bound(b.now_sql(), "datetime")
    if name == "current_date":
        return Bound(_bucket(b, "day", b.now_sql()), "datetime")
    bound = [b.bind(a, scope) for a in args]
    agg = any(x.agg for x in bound)
    if name in BUCKETS:
        return Bound(_bucket(b, name, b.as_datetime(bound[0], args[0])), "datetime", agg)
    if name == "date_trunc":
        unit = args[0]
        if not isinstance(unit, A.Literal) or str(unit.value).lower() not in BUCKETS:
            raise _err("bad_argument", "date_trunc's first argument is a unit: 'second', 'minute', 'hour', 'day', "
                       "'week', 'month' or 'year'.", unit)
        return Bound(_bucket(b, str(unit.value).lower(), b.as_datetime(bound[1], args[1])), "datetime", agg)
    if name in ("lower", "upper"):
        return Bound(f"{name}({b.as_text(bound[0])})", "str", agg)
    if name == "concat":
        return Bound("concat(" + ", ".join(b.as_text(x) for x in bound) + ")", "str", agg)
    if name in ("len", "length"):
        x = bound[0]
        if x.type == "array":
            return Bound(f"len({x.sql})", "int", agg)
        if x.type == "map":
            return Bound(f"cardinality({x.sql})", "int", agg)
        if x.type == "json":
            v = x.json_value
            return Bound(f"(CASE json_type({v}) WHEN 'ARRAY' THEN json_array_length({v}) "
                         f"WHEN 'VARCHAR' THEN length({b.as_text(x)}) WHEN 'OBJECT' THEN len(json_keys({v})) END)", "int", agg)
        return Bound(f"length({b.as_text(x)})", "int", agg)
    if name in ("contains", "includes"):
        r = b.includes(bound[0], bound[1], node)
        r.agg = agg
        return r
    if name == "json_extract":
        key = args[1]
        if not isinstance(key, A.Literal) or not isinstance(key.value, str):
            raise _err("bad_argument", "json_extract's second argument is a key name in quotes.", key)
        text = b.as_text(bound[0])
        path = b.p(json_path([key.value]), "VARCHAR")
        return Bound(f"(CASE WHEN json_valid({text}) THEN NULLIF(json_extract({text}, {path}), 'null') END)", "json", agg)
    if name in ("coalesce", "least", "greatest", "nullif"):
        rtype, cast = unify(bound)
        sql_name = name
        return Bound(f"{sql_name}(" + ", ".join(cast(b, x) for x in bound) + ")", rtype, agg)
    if name == "round":
        digits = b.as_num(bound[1], args[1]) if len(bound) > 1 else "0"
        return Bound(f"round({b.as_num(bound[0], args[0])}, CAST({digits} AS INTEGER))", "num", agg)
    if name in ("abs", "floor", "ceil"):
        return Bound(f"{name}({b.as_num(bound[0], args[0])})", "num", agg)
    if name == "to_string":
        return Bound(b.as_text(bound[0]), "str", agg)
    if name in _CASTS:
        sql_type, rtype = _CASTS[name]
        x = bound[0]
        if x.type == rtype:
            return x
        src = x.sql if x.type in ("int", "num", "bool") else b.as_text(x)
        return Bound(f"TRY_CAST({src} AS {sql_type})", rtype, agg)
    if name == "to_datetime":
        x = bound[0]
        if x.type == "datetime":
            return x
        if x.type in ("int", "num"):
            return Bound(f"to_timestamp({x.sql})", "datetime", agg)
        return Bound(f"TRY_CAST({b.as_text(x)} AS TIMESTAMPTZ)", "datetime", agg)
    if name == "to_date":
        x = bound[0]
        src = x.sql if x.type == "datetime" else f"TRY_CAST({b.as_text(x)} AS TIMESTAMPTZ)"
        return Bound(_bucket(b, "day", src), "datetime", agg)
    raise _err("unknown_function", f"Unknown function `{node.name}`.", node)  # pragma: no cover


def _aggregate(b: Binder, name: str, node: A.Function, scope: Scope) -> Bound:
    inner = Scope(scope.aliases, scope.implicit, scope.aliases_first, allow_agg=False, in_agg=True)
    arg = node.args[0]
    if name == "count" and (isinstance(arg, A.Star) or (isinstance(arg, A.Literal) and arg.value is not None)):
        if node.distinct:
            raise _err("bad_argument", "count(DISTINCT …) needs a field, not a constant.", node)
        return Bound("count(*)", "int", agg=True)
    x = b.bind(arg, inner)
    if x.agg:
        raise _err("aggregate_context", f"Aggregates cannot be nested inside {name}().", node)
    value = x.sql
    if x.type == "json":
        value = b.as_num(x) if x.known == "num" else b.as_text(x)
    if name in ("count", "count_distinct"):
        distinct = "DISTINCT " if node.distinct or name == "count_distinct" else ""
        return Bound(f"count({distinct}{value})", "int", agg=True)
    if name in ("sum", "avg"):
        num = b.as_num(x, arg)
        return Bound(f"{name}({num})", "num", agg=True)
    if name == "percentile":
        p = node.args[1]
        if not isinstance(p, A.Literal) or isinstance(p.value, bool) or not isinstance(p.value, int | float) \
                or not 0 <= p.value <= 1:
            raise _err("bad_argument", "percentile's second argument is a fraction between 0 and 1, e.g. 0.95.", p)
        return Bound(f"quantile_cont({b.as_num(x, arg)}, {b.p(float(p.value), 'DOUBLE')})", "num", agg=True)
    rtype: Any = x.type if x.type != "json" else (x.known or "str")
    if name in ("min", "max") and x.type in ("map", "array"):
        raise _err("type_mismatch", f"{name}() needs single values, not an object or array.", node)
    return Bound(f"{name}({value})", rtype, agg=True)


def _search(b: Binder, node: A.Function, scope: Scope) -> Bound:
    q = b.bind(node.args[0], scope)
    fields = [f for f in ("input", "output", "expected", "metadata", "span_attributes", "tags") if f in b.schema.columns]
    parts = [b.match_sql(Bound(b.schema.columns[f][1], b.schema.columns[f][0]), q) for f in fields]
    return Bound("(" + " OR ".join(f"coalesce({p}, false)" for p in parts) + ")", "bool", q.agg)
