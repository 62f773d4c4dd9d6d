"""Binder: resolves fields against the source schema, checks types and lowers expressions to DuckDB SQL.

Each AST expression becomes a `Bound` (SQL text + binder type). User values never enter the SQL text:
literals, JSON paths and map keys are bound parameters (`$pN`), and identifiers only come from the fixed
column tables in `schema.py` or from aliases quoted by `quote_ident`.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from loop_tui import clock
from loop_tui.btql import ast as A
from loop_tui.btql.cost import cost_sql
from loop_tui.btql.errors import BtqlError
from loop_tui.btql.functions import AGGREGATES, BUCKETS, FUNCTIONS
from loop_tui.btql.schema import SHREDDED, SourceSchema

NUMERIC = ("int", "num")
_CMP_SQL = {"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "is": "IS NOT DISTINCT FROM"}
_ARITH_SQL = {"add": "+", "sub": "-", "mul": "*", "div": "/", "mod": "%"}
_INTERVAL_FN = {"year": "to_years", "month": "to_months", "day": "to_days", "hour": "to_hours", "minute": "to_minutes",
                "second": "to_seconds", "millisecond": "to_milliseconds", "microsecond": "to_microseconds"}
_TOKEN_SPLIT = r"[^\p{L}\p{N}]+"
_TYPE_NAMES = {"str": "text", "int": "a number", "num": "a number", "bool": "a boolean", "datetime": "a time",
               "json": "JSON", "map": "an object of numbers", "array": "an array", "interval": "an interval"}


def quote_ident(name: str) -> str:
    """A SQL identifier for an output alias (double quotes doubled, so any text is safe)."""
    return '"' + name.replace('"', '""') + '"'


def tokens(text: str) -> list[str]:
    """MATCH tokens: lower-case runs of letters and digits (same rule as the SQL side)."""
    return [t for t in re.split(r"[\W_]+", text.lower()) if t]


@dataclass
class Bound:
    """A bound expression: SQL text, binder type, whether it aggregates, and JSON-path details."""

    sql: str
    type: str
    agg: bool = False
    json_col: str | None = None
    json_path: str | None = None
    known: str | None = None  # sampled type of a JSON path, when the data has one
    literal: bool = False
    value: Any = None

    @property
    def json_value(self) -> str:
        """SQL for the raw JSON value: re-extracted at its path when it came from one, else `sql` as it is."""
        return self.sql if self.json_col is None else f"json_extract({self.json_col}, {self.json_path})"


@dataclass
class Scope:
    """Names visible to an expression and whether aggregates may appear."""

    aliases: dict[str, Bound] = field(default_factory=dict)
    implicit: dict[str, list[Bound]] = field(default_factory=dict)
    aliases_first: bool = False
    allow_agg: bool = False
    in_agg: bool = False


class Params:
    """Collects bound parameter values; `add` returns a typed placeholder."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any, sql_type: str) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"CAST(${name} AS {sql_type})"


def _err(code: str, message: str, node: Any, hint: str | None = None) -> BtqlError:
    return BtqlError.at("bind", code, message, getattr(node, "span", None), hint)


def unknown_function(node: A.Function) -> BtqlError:
    """The error for a call to a function BTQL does not have, naming the closest one it does."""
    close = difflib.get_close_matches(node.name.lower(), list(FUNCTIONS), n=1, cutoff=0.6)
    return _err("unknown_function", f"Unknown function `{node.name}`.", node,
                hint=f"Did you mean `{close[0]}`?" if close else "See the function list in the BTQL reference.")


def check_function_names(expr: Any) -> None:
    """Raise `unknown_function` for the first call in `expr` to a function BTQL does not have.

    Checked before an item is classified as dimension or aggregate: a typo such as `coutn(1)` would
    otherwise be reported as "`n` is neither a dimension nor an aggregate".
    """
    for node in A.walk(expr):
        if isinstance(node, A.Function) and node.name.lower() not in FUNCTIONS:
            raise unknown_function(node)


def json_path(pieces: list[str | int]) -> str:
    """A DuckDB JSON path for path pieces (`[-1]` counts from the end)."""
    out = "$"
    for p in pieces:
        if isinstance(p, int):
            out += f"[#{p}]" if p < 0 else f"[{p}]"
        else:
            out += '."' + p.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return out


def path_text(pieces: list[str | int]) -> str:
    """How a path is written back to users (`metadata.model`, `tags[0]`)."""
    out = ""
    for p in pieces:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            safe = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", p)
            out += ("." if out else "") + (p if safe else f'"{p}"')
    return out


class Binder:
    """Binds expressions of one query against one source schema."""

    def __init__(self, schema: SourceSchema, params: Params, *, any_span=None, summary: bool = False,
                 tz_offset: int = 0, now: datetime | None = None) -> None:
        self.schema = schema
        self.params = params
        self.any_span = any_span  # callback(inner SQL) -> SQL, set by the compiler
        self.summary = summary
        self.tz_offset = tz_offset
        self.now = now or clock.now()
        self._now_sql: str | None = None

    def now_sql(self) -> str:
        """One fixed `now()` per query, as a parameter."""
        if self._now_sql is None:
            self._now_sql = self.p(self.now, "TIMESTAMPTZ")
        return self._now_sql

    # -- coercions -------------------------------------------------------------------------------
    def p(self, value: Any, sql_type: str) -> str:
        return self.params.add(value, sql_type)

    def as_text(self, b: Bound) -> str:
        if b.type == "json":
            if b.json_col is not None:
                return f"json_extract_string({b.json_col}, {b.json_path})"
            return f"json_extract_string({b.sql}, '$')"
        if b.type in ("str", "null"):
            return b.sql
        if b.type in ("map", "array"):
            return f"CAST(to_json({b.sql}) AS VARCHAR)"
        if b.type == "datetime":
            return f"strftime(timezone('UTC', {b.sql}), '%Y-%m-%dT%H:%M:%S.%fZ')"
        return f"CAST({b.sql} AS VARCHAR)"

    def as_num(self, b: Bound, node: Any = None) -> str:
        if b.type in NUMERIC or b.type == "null":
            return b.sql
        if b.type == "bool":
            return f"CAST({b.sql} AS INTEGER)"
        if b.type in ("json", "str"):
            if b.type == "str" and not b.literal and node is not None:
                raise _err("type_mismatch", f"{_describe(node)} is text, not a number.", node,
                           hint="Convert it explicitly with to_number(…).")
            return f"TRY_CAST({self.as_text(b)} AS DOUBLE)"
        raise _err("type_mismatch", f"{_describe(node)} is {_TYPE_NAMES.get(b.type, b.type)}, not a number.", node)

    def as_bool(self, b: Bound, node: Any = None) -> str:
        if b.type in ("bool", "null"):
            return b.sql
        if b.type in ("json", "str"):
            return f"TRY_CAST({self.as_text(b)} AS BOOLEAN)"
        if b.type in NUMERIC:
            return f"({b.sql} <> 0)"
        raise _err("type_mismatch", f"{_describe(node)} is {_TYPE_NAMES.get(b.type, b.type)}, not a condition.", node)

    def as_datetime(self, b: Bound, node: Any) -> str:
        if b.type in ("datetime", "null"):
            return b.sql
        if b.literal and isinstance(b.value, str):
            return self.p(parse_time_literal(b.value, node), "TIMESTAMPTZ")
        if b.type in ("str", "json"):
            return f"TRY_CAST({self.as_text(b)} AS TIMESTAMPTZ)"
        if b.type in NUMERIC:
            return f"to_timestamp({b.sql})"
        raise _err("type_mismatch", f"{_describe(node)} is {_TYPE_NAMES.get(b.type, b.type)}, not a time.", node)

    def output(self, b: Bound) -> str:
        """SQL for showing a value: JSON null becomes SQL NULL (BTQL.md rule 16)."""
        if b.type == "json" and b.json_col is not None and b.json_path is not None:
            return f"NULLIF(json_extract({b.json_col}, {b.json_path}), 'null')"
        return b.sql

    # -- entry -----------------------------------------------------------------------------------
    def bind(self, node: Any, scope: Scope) -> Bound:
        method = getattr(self, "_b_" + type(node).__name__.lower(), None)
        if method is None:
            raise _err("unsupported", f"{_describe(node)} cannot be used here.", node)
        return method(node, scope)

    def bind_bool(self, node: Any, scope: Scope) -> str:
        return self.as_bool(self.bind(node, scope), node)

    def _b_literal(self, node: A.Literal, scope: Scope) -> Bound:
        v = node.value
        if v is None:
            return Bound("NULL", "null", literal=True, value=None)
        if isinstance(v, bool):
            return Bound(self.p(v, "BOOLEAN"), "bool", literal=True, value=v)
        if isinstance(v, int):
            return Bound(self.p(v, "BIGINT"), "int", literal=True, value=v)
        if isinstance(v, float):
            return Bound(self.p(v, "DOUBLE"), "num", literal=True, value=v)
        if isinstance(v, str):
            return Bound(self.p(v, "VARCHAR"), "str", literal=True, value=v)
        return Bound(self.p(json.dumps(v), "JSON"), "json", literal=True, value=v)

    def _b_interval(self, node: A.Interval, scope: Scope) -> Bound:
        fn = _INTERVAL_FN.get(node.unit)
        if fn is None:
            raise _err("bad_interval", f"Unknown interval unit `{node.unit}`.", node)
        return Bound(f"{fn}({self.p(int(node.value), 'BIGINT')})", "interval", literal=True)

    def _b_star(self, node: A.Star, scope: Scope) -> Bound:
        raise _err("unexpected_star", "`*` can only be used as `select: *` or inside count(*).", node)

    def _b_aliasexpr(self, node: A.AliasExpr, scope: Scope) -> Bound:
        raise _err("unexpected_token", f"Named argument `{node.alias} =>` is not allowed here.", node)

    def _b_spanfilter(self, node: A.SpanFilter, scope: Scope) -> Bound:
        if node.kind == "filter":
            raise _err("misplaced_filter_spans", "FILTER_SPANS(…) must be a top-level AND condition of the filter.", node)
        if self.any_span is None:
            raise _err("shape_required", "ANY_SPAN(…) can only be used in a filter.", node)
        inner = self.bind_bool(node.expr, Scope())
        return Bound(self.any_span(inner), "bool")

    # -- fields ----------------------------------------------------------------------------------
    def _b_ident(self, node: A.Ident, scope: Scope) -> Bound:
        head, rest = node.name[0], list(node.name[1:])
        if not isinstance(head, str):
            raise _err("unknown_field", f"`{path_text(node.name)}` is not a field.", node)
        if scope.aliases_first and head in scope.aliases:
            return self._descend(scope.aliases[head], rest, node, [head])
        if head in self.schema.columns:
            return self._column(head, rest, node)
        if head in scope.aliases:
            return self._descend(scope.aliases[head], rest, node, [head])
        if head in scope.implicit:
            found = scope.implicit[head]
            if len(found) > 1:
                raise _err("ambiguous_alias", f"`{head}` is ambiguous: more than one select item ends in `{head}`.", node,
                           hint="Write the full path, or give the items distinct names with AS.")
            return self._descend(found[0], rest, node, [head])
        extra = self.schema.keys.get("_extra", {})
        if head in extra or self.schema.has_key("_extra", head):
            return self._json(
                '"_extra"', node.name, node, extra.get(head) if not rest else None)
        raise self._unknown(node, head, scope)

    def _unknown(self, node: A.Ident, head: str, scope: Scope) -> BtqlError:
        candidates = list(self.schema.columns) + list(scope.aliases) + list(scope.implicit)
        close = difflib.get_close_matches(head, candidates, n=1, cutoff=0.6)
        hint = f"Did you mean `{close[0]}`?" if close else None
        if hint is None:
            for col, keys in self.schema.keys.items():
                if head in keys and col != "_extra":
                    hint = f"Did you mean `{col}.{path_text(node.name)}`?"
                    break
        return _err("unknown_field", f"Unknown field `{path_text(node.name)}`.", node, hint=hint)

    def _column(self, head: str, rest: list, node: A.Ident) -> Bound:
        ctype, sql, _ = self.schema.columns[head]
        if not rest:
            return Bound(sql, ctype)
        if ctype == "map":
            key = rest[0]
            keys = self.schema.keys.get(head, {})
            if len(rest) > 1 or not isinstance(key, str):
                raise _err("type_mismatch", f"`{head}` holds numbers by name; write {head}.<name>.", node)
            if head == "metrics" and key == "total_tokens" and "total_tokens" not in keys and (not keys or "tokens" in keys):
                # Braintrust's docs sum metrics.total_tokens; the canonical name is tokens. Accept either.
                return Bound(f"coalesce({self._map_value(head, sql, 'total_tokens', literal=True)}, "
                             f"{self._map_value(head, sql, 'tokens', literal=True)})", "num")
            if keys and not self.schema.has_key(head, key) and not (self.summary and head == "metrics"):
                close = difflib.get_close_matches(key, list(keys), n=1, cutoff=0.6)
                raise _err("unknown_field", f"Unknown field `{path_text(node.name)}`.", node,
                           hint=f"Did you mean `{head}.{path_text([close[0]])}`?" if close
                           else f"Known {head}: {', '.join(sorted(keys)[:12])}.")
            return Bound(self._map_value(head, sql, key), "num")
        if ctype == "array":
            if len(rest) > 1 or not isinstance(rest[0], int):
                raise _err("type_mismatch", f"`{head}` is an array; index it like {head}[0].", node)
            i = rest[0]
            return Bound(f"list_extract({sql}, {self.p(i + 1 if i >= 0 else i, 'BIGINT')})", "str")
        if ctype == "json":
            if (head, rest[0]) in SHREDDED and len(rest) == 1:
                return Bound(SHREDDED[(head, rest[0])], "str")
            keys = self.schema.keys.get(head, {})
            first = rest[0]
            if keys and isinstance(first, str) and not self.schema.has_key(head, first):
                close = difflib.get_close_matches(first, list(keys), n=1, cutoff=0.6)
                raise _err("unknown_field", f"Unknown field `{path_text(node.name)}`.", node,
                           hint=f"Did you mean `{head}.{path_text([close[0]])}`?" if close else None)
            known = keys.get(first) if len(rest) == 1 and isinstance(first, str) else None
            return self._json(sql, rest, node, known)
        raise _err("type_mismatch", f"`{head}` is {_TYPE_NAMES[ctype]} and has no fields.", node)

    def _map_value(self, head: str, sql: str, key: str, *, literal: bool = False) -> str:
        """One key of a score/metric map: its typed column's field when the store has one (far faster)."""
        typed = self.schema.typed.get(head)
        if typed and key in typed and not self.summary and sql == f'"{head}"':
            return f"{typed[key]}"
        if literal:
            return f"{sql}['{key}']"
        return f"{sql}[{self.p(key, 'VARCHAR')}]"

    def _json(self, col_sql: str, pieces: list, node: Any, known: str | None) -> Bound:
        path = self.p(json_path(pieces), "VARCHAR")
        return Bound(f"json_extract({col_sql}, {path})", "json", json_col=col_sql, json_path=path,
                     known=known if known in ("str", "num", "bool") else None)

    def _descend(self, base: Bound, rest: list, node: A.Ident, done: list) -> Bound:
        if not rest:
            return base
        if base.type == "json":
            col = base.json_value
            return self._json(col, rest, node, None)
        if base.type == "map" and len(rest) == 1 and isinstance(rest[0], str):
            return Bound(f"({base.sql})[{self.p(rest[0], 'VARCHAR')}]", "num")
        if base.type == "array" and len(rest) == 1 and isinstance(rest[0], int):
            i = rest[0]
            return Bound(f"list_extract({base.sql}, {self.p(i + 1 if i >= 0 else i, 'BIGINT')})", "json")
        raise _err("type_mismatch", f"`{path_text(done)}` is {_TYPE_NAMES.get(base.type, base.type)} and has no fields.", node)

    # -- operators -------------------------------------------------------------------------------
    def _b_boolop(self, node: A.BoolOp, scope: Scope) -> Bound:
        parts = [self.bind(c, scope) for c in node.children]
        sqls = [self.as_bool(b, c) for b, c in zip(parts, node.children, strict=True)]
        joiner = " AND " if node.op == "and" else " OR "
        return Bound("(" + joiner.join(sqls) + ")", "bool", agg=any(b.agg for b in parts))

    def _b_unary(self, node: A.Unary, scope: Scope) -> Bound:
        b = self.bind(node.expr, scope)
        if node.op == "not":
            return Bound(f"(NOT {self.as_bool(b, node.expr)})", "bool", b.agg)
        if node.op == "neg":
            if b.type == "interval":
                return Bound(f"(-{b.sql})", "interval", b.agg)
            return Bound(f"(-{self.as_num(b, node.expr)})", "num" if b.type != "int" else "int", b.agg)
        test = self.as_text(b) if b.type == "json" and b.json_col is not None else b.sql
        return Bound(f"({test} IS {'NOT ' if node.op == 'isnotnull' else ''}NULL)", "bool", b.agg)

    def _b_arith(self, node: A.Arith, scope: Scope) -> Bound:
        left, right = self.bind(node.left, scope), self.bind(node.right, scope)
        agg = left.agg or right.agg
        op = _ARITH_SQL[node.op]
        if "interval" in (left.type, right.type) or (left.type == "datetime" and node.op in ("add", "sub")):
            if node.op == "add" and right.type == "interval" and left.type != "interval":
                return Bound(f"({self.as_datetime(left, node.left)} + {right.sql})", "datetime", agg)
            if node.op == "add" and left.type == "interval":
                return Bound(f"({left.sql} + {self.as_datetime(right, node.right)})", "datetime", agg)
            if node.op == "sub" and right.type == "interval":
                return Bound(f"({self.as_datetime(left, node.left)} - {right.sql})", "datetime", agg)
            if node.op == "sub" and (right.type == "datetime" or (right.literal and isinstance(right.value, str))):
                return Bound(f"({self.as_datetime(left, node.left)} - {self.as_datetime(right, node.right)})", "interval", agg)
            raise _err("type_mismatch", "Only `time ± interval` and `time - time` mix times and intervals.", node)
        for b, n in ((left, node.left), (right, node.right)):
            if b.type == "str" and not b.literal or (b.literal and isinstance(b.value, str)):
                raise _err("type_mismatch", f"Arithmetic needs numbers, but {_describe(n)} is text.", n,
                           hint="Use concat(…) to join text, or to_number(…) to convert it.")
        ls, rs = self.as_num(left, node.left), self.as_num(right, node.right)
        sql = f"({ls} {op} NULLIF({rs}, 0))" if node.op in ("div", "mod") else f"({ls} {op} {rs})"
        rtype = "int" if left.type == right.type == "int" and node.op in ("add", "sub", "mul") else "num"
        return Bound(sql, rtype, agg)

    def _b_ternary(self, node: A.Ternary, scope: Scope) -> Bound:
        conds = [(self.bind(c, scope), self.bind(t, scope), c) for c, t in node.conds]
        else_ = self.bind(node.else_, scope)
        branches = [t for _, t, _ in conds] + [else_]
        rtype, cast = unify(branches)
        parts = [f"WHEN {self.as_bool(c, cn)} THEN {cast(self, t)}" for c, t, cn in conds]
        agg = any(b.agg for b in branches) or any(c.agg for c, _, _ in conds)
        return Bound(f"(CASE {' '.join(parts)} ELSE {cast(self, else_)} END)", rtype, agg)

    def _b_comparison(self, node: A.Comparison, scope: Scope) -> Bound:
        left = self.bind(node.left, scope)
        if node.op == "in":
            return self._in(node, left, scope)
        right = self.bind(node.right, scope)
        agg = left.agg or right.agg
        op = node.op
        if op in ("like", "ilike"):
            kw = "LIKE" if op == "like" else "ILIKE"
            return Bound(f"({self.as_text(left)} {kw} {self.as_text(right)} ESCAPE '\\')", "bool", agg)
        if op == "match":
            return Bound(self.match_sql(left, right), "bool", agg)
        if right.type == "null" or left.type == "null":
            other = left if right.type == "null" else right
            test = self.as_text(other) if other.type == "json" and other.json_col is not None else other.sql
            if op in ("eq", "is"):
                return Bound(f"({test} IS NULL)", "bool", agg)
            if op == "ne":
                return Bound(f"({test} IS NOT NULL)", "bool", agg)
            return Bound("CAST(NULL AS BOOLEAN)", "bool", agg)
        ls, rs = self._compare_operands(left, right, node)
        return Bound(f"({ls} {_CMP_SQL[op]} {rs})", "bool", agg)

    def _compare_operands(self, left: Bound, right: Bound, node: A.Comparison) -> tuple[str, str]:
        lt, rt = _effective(left), _effective(right)
        if "datetime" in (lt, rt):
            other, onode = (right, node.right) if lt == "datetime" else (left, node.left)
            if _effective(other) in NUMERIC + ("bool",):
                raise _err("type_mismatch", f"Cannot compare a time with {_describe(onode)}.", node,
                           hint="Compare times with ISO strings such as '2024-01-01' or now() - interval 1 day.")
            return self.as_datetime(left, node.left), self.as_datetime(right, node.right)
        if lt in ("map", "array") or rt in ("map", "array"):
            raise _err("type_mismatch", "Objects and arrays cannot be compared; compare one of their fields.", node,
                       hint="Use INCLUDES to test membership.")
        if lt == "json" and rt == "json":
            return self.as_text(left), self.as_text(right)
        if lt == "json" or rt == "json":
            known, other = (right, left) if lt == "json" else (left, right)
            kind = _effective(other)
        else:
            kind = lt
            if {lt, rt} <= set(NUMERIC) or lt == rt:
                pass
            else:
                raise _err("type_mismatch", f"Cannot compare {_TYPE_NAMES.get(lt, lt)} with {_TYPE_NAMES.get(rt, rt)}.", node,
                           hint="Convert one side with to_number(…) or to_string(…).")
        if kind in NUMERIC:
            return self.as_num(left, node.left), self.as_num(right, node.right)
        if kind == "bool":
            return self.as_bool(left, node.left), self.as_bool(right, node.right)
        return self.as_text(left), self.as_text(right)

    def _in(self, node: A.Comparison, left: Bound, scope: Scope) -> Bound:
        if not isinstance(node.right, A.Literal) or not isinstance(node.right.value, list):
            raise _err("type_mismatch", "IN needs a list such as ['a', 'b'].", node.right)
        values = node.right.value
        if not values:
            raise _err("empty_in", "IN [] matches nothing; give at least one value.", node.right)
        for v in values:
            if not isinstance(v, str | int | float | bool) and v is not None:
                raise _err("type_mismatch", "IN lists hold strings, numbers or booleans.", node.right)
        items = [A.Literal(v, span=node.right.span) for v in values if v is not None]
        parts = [self._compare_operands(left, self.bind(i, scope), A.Comparison("eq", node.left, i, span=node.span))
                 for i in items]
        if not parts:
            return Bound("CAST(NULL AS BOOLEAN)", "bool", left.agg)
        lhs = parts[0][0]
        return Bound(f"({lhs} IN ({', '.join(r for _, r in parts)}))", "bool", left.agg)

    def match_sql(self, left: Bound, right: Bound) -> str:
        full = f"regexp_split_to_array(lower({self.text_of_anything(left)}), '{_TOKEN_SPLIT}')"
        if right.literal and isinstance(right.value, str):
            words = tokens(right.value)
            if not words:
                return "CAST(NULL AS BOOLEAN)"
            # Cheap substring test on the raw text first; only candidate rows pay for tokenising.
            raw = f"lower(CAST({self._raw(left)} AS VARCHAR))"
            pre = " AND ".join(f"contains({raw}, {self.p(w, 'VARCHAR')})" for w in words)
            return f"({pre} AND list_has_all({full}, {self.p(words, 'VARCHAR[]')}))"
        needle = f"list_filter(regexp_split_to_array(lower({self.as_text(right)}), '{_TOKEN_SPLIT}'), t -> t <> '')"
        return f"list_has_all({full}, {needle})"

    def _raw(self, b: Bound) -> str:
        if b.type == "json":
            return b.json_value
        if b.type == "array":
            return f"array_to_string({b.sql}, ' ')"
        return self.as_text(b)

    def text_of_anything(self, b: Bound) -> str:
        """All the text in a value: strings as they are, objects and arrays as every value inside."""
        if b.type == "json":
            v = b.json_value
            return (f"(CASE WHEN json_type({v}) IN ('OBJECT', 'ARRAY') THEN array_to_string(json_extract_string({v}, '$.**'), ' ') "
                    f"ELSE json_extract_string({v}, '$') END)")
        if b.type == "array":
            return f"array_to_string({b.sql}, ' ')"
        return self.as_text(b)

    def _b_includes(self, node: A.Includes, scope: Scope) -> Bound:
        return self.includes(self.bind(node.haystack, scope), self.bind(node.needle, scope), node)

    def includes(self, hay: Bound, needle: Bound, node: Any) -> Bound:
        agg = hay.agg or needle.agg
        if hay.type == "array":
            return Bound(f"list_contains({hay.sql}, {self.as_text(needle)})", "bool", agg)
        if hay.type == "map":
            return Bound(f"list_contains(map_values({hay.sql}), {self.as_num(needle, node)})", "bool", agg)
        if hay.type == "json":
            v = hay.json_value
            if needle.literal and isinstance(needle.value, dict):
                return Bound(f"coalesce(json_contains({v}, {needle.sql}), false)", "bool", agg)
            nj = needle.sql if needle.type == "json" else f"to_json({needle.sql})"
            return Bound(
                f"(CASE json_type({v}) WHEN 'ARRAY' THEN list_contains(json_extract({v}, '$[*]'), {nj}) "
                f"WHEN 'OBJECT' THEN list_contains(json_extract({v}, '$.*'), {nj}) ELSE false END)", "bool", agg)
        raise _err("type_mismatch", f"INCLUDES needs an array or an object, but {_describe(getattr(node, 'haystack', node))} "
                   f"is {_TYPE_NAMES.get(hay.type, hay.type)}.", node, hint="Use = to compare single values.")

    # -- functions -------------------------------------------------------------------------------
    def _b_function(self, node: A.Function, scope: Scope) -> Bound:
        from loop_tui.btql.bind_functions import bind_function

        name = node.name.lower()
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise unknown_function(node)
        if any(isinstance(a, A.AliasExpr) for a in node.args):
            raise _err("unexpected_token", f"{node.name}() does not take named arguments.", node)
        n = len(node.args)
        if n < spec.min_args or (spec.max_args is not None and n > spec.max_args):
            want = str(spec.min_args) if spec.max_args == spec.min_args else (
                f"{spec.min_args} or more" if spec.max_args is None else f"{spec.min_args} to {spec.max_args}")
            raise _err("wrong_arity", f"{name}() takes {want} argument{'s' if want != '1' else ''}, not {n}.", node)
        if node.distinct and name not in ("count",):
            raise _err("unsupported", "DISTINCT is only supported in count(DISTINCT …).", node)
        if name in AGGREGATES:
            if scope.in_agg:
                raise _err("aggregate_context", f"Aggregates cannot be nested: {name}() is inside another aggregate.", node)
            if not scope.allow_agg:
                raise _err("aggregate_context", f"{name}() is an aggregate; use it in measures (or with GROUP BY).", node,
                           hint="Move it to `measures:`, or filter groups with `final_filter:` (HAVING).")
        return bind_function(self, name, node, scope)

    def cost(self) -> str:
        if self.summary:
            return "\"metrics\"['estimated_cost']"
        return cost_sql(self.p)


def _effective(b: Bound) -> str:
    if b.type == "json" and b.known:
        return b.known
    if b.literal and isinstance(b.value, bool):
        return "bool"
    return b.type


def unify(branches: list[Bound]):
    """Result type of CASE/coalesce branches and a function rendering each branch in it."""
    types = {b.type for b in branches} - {"null"}
    if not types:
        return "null", lambda self, b: b.sql
    if len(types) == 1:
        t = types.pop()
        return t, (lambda self, b: self.output(b)) if t == "json" else (lambda self, b: b.sql)
    if types <= set(NUMERIC):
        return "num", lambda self, b: b.sql
    if types <= {"json", "str"}:
        return "str", lambda self, b: self.as_text(b)
    return "str", lambda self, b: self.as_text(b)


def _describe(node: Any) -> str:
    if isinstance(node, A.Ident):
        return f"`{path_text(node.name)}`"
    if isinstance(node, A.Literal):
        return f"the value {json.dumps(node.value)}"
    if isinstance(node, A.Function):
        return f"{node.name}(…)"
    return "this expression"


def parse_time_literal(text: str, node: Any) -> datetime:
    """An ISO date or datetime string as an aware UTC datetime; a bad one is a bind error."""
    s = text.strip()
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00") if s.endswith("Z") else s)
    except ValueError:
        raise _err("type_mismatch", f"`{text}` is not a date or time.", node,
                   hint="Write times as ISO-8601, e.g. '2024-01-15' or '2024-01-15T10:30:00Z'.") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


__all__ = ["BUCKETS", "Binder", "Bound", "Params", "Scope", "quote_ident"]
