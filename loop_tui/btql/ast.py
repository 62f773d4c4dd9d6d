"""The BTQL syntax tree: one dataclass per ParsedQuery node (research §3); every node keeps its span.

Both text syntaxes and the ParsedQuery JSON produce these nodes; `ast_json` converts to and from JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loop_tui.btql.lexer import Span


@dataclass(eq=False)
class Node:
    """Base of every node; `span` is where it came from in the text (None for JSON input)."""

    span: Span | None = field(default=None, kw_only=True, repr=False, compare=False)


@dataclass(eq=False)
class Literal(Node):
    """null, bool, int, float, string, or an array/object of literals."""

    value: Any


@dataclass(eq=False)
class Interval(Node):
    """`interval 7 day`: value and a unit (year … microsecond)."""

    value: int
    unit: str


@dataclass(eq=False)
class Ident(Node):
    """A field path: `metadata.model` → ["metadata", "model"]; `tags[0]` → ["tags", 0]."""

    name: list[str | int]


@dataclass(eq=False)
class Star(Node):
    """`*` in select (or inside `count(*)`)."""


@dataclass(eq=False)
class Function(Node):
    """`name(args…)`; named args (`shape => 'traces'`) are `AliasExpr`s; `distinct` for `count(DISTINCT x)`."""

    name: str
    args: list[Expr | AliasExpr]
    distinct: bool = False


@dataclass(eq=False)
class Comparison(Node):
    """`left op right` with op in eq, ne, is, isnot, lt, le, gt, ge, like, ilike, match, in."""

    op: str
    left: Expr
    right: Expr


@dataclass(eq=False)
class Includes(Node):
    """`haystack INCLUDES needle` (alias CONTAINS)."""

    haystack: Expr
    needle: Expr


@dataclass(eq=False)
class BoolOp(Node):
    """n-ary `and` / `or`."""

    op: str
    children: list[Expr]


@dataclass(eq=False)
class Ternary(Node):
    """`c1 ? t1 : c2 ? t2 : e` flattened into conds."""

    conds: list[tuple[Expr, Expr]]
    else_: Expr


@dataclass(eq=False)
class Arith(Node):
    """`left op right` with op in add, sub, mul, div, mod."""

    op: str
    left: Expr
    right: Expr


@dataclass(eq=False)
class Unary(Node):
    """op in not, neg, isnull, isnotnull."""

    op: str
    expr: Expr


@dataclass(eq=False)
class SpanFilter(Node):
    """`ANY_SPAN(e)` (kind 'any') or `FILTER_SPANS(e)` (kind 'filter'): trace-level wrappers."""

    kind: str
    expr: Expr


Expr = Literal | Interval | Ident | Star | Function | Comparison | Includes | BoolOp | Ternary | Arith | Unary | SpanFilter


@dataclass(eq=False)
class AliasExpr(Node):
    """An expression with an output name; `explicit` is False for implicit/generated names."""

    expr: Expr
    alias: str
    explicit: bool = True


@dataclass(eq=False)
class UnpivotItem(Node):
    """`expr as (key, value)` (object) or `expr as (value)` (array)."""

    expr: Expr
    aliases: tuple[str, ...]


@dataclass(eq=False)
class SortItem(Node):
    """`expr asc|desc`."""

    expr: Expr
    dir: str = "asc"


@dataclass(eq=False)
class Sample(Node):
    """`sample: 25%` (rate 0.25), `sample: 100 rows` (count), optional `seed N`."""

    method: str
    value: float
    seed: int | None = None


@dataclass(eq=False)
class Source(Node):
    """`from: project_logs('a', 'b') traces`: function name, id/name args, shape."""

    name: str
    args: list[Expr]
    shape: str | None = None


@dataclass(eq=False)
class Query(Node):
    """A whole query; clause attributes are None when absent; `clause_spans` locate each clause keyword."""

    select: list[AliasExpr | Star] | None = None
    from_: Source | None = None
    filter: Expr | None = None
    dimensions: list[AliasExpr] | None = None
    measures: list[AliasExpr] | None = None
    pivot: list[AliasExpr] | None = None
    unpivot: list[UnpivotItem] | None = None
    sort: list[SortItem] | None = None
    limit: int | None = None
    cursor: str | None = None
    sample: Sample | None = None
    preview_length: int | None = None
    final_filter: Expr | None = None
    span_filter: Expr | None = None
    trace_filter: Expr | None = None
    syntax: str = "btql"
    output_order: list[str] | None = field(default=None, repr=False, compare=False)
    clause_spans: dict[str, Span] = field(default_factory=dict, repr=False, compare=False)


CLAUSES = (
    "select", "from", "filter", "dimensions", "measures", "pivot", "unpivot", "sort", "limit", "cursor",
    "sample", "preview_length", "final_filter", "span_filter", "trace_filter",
)
# Clauses Braintrust has internally but we do not run; named in the error so users know why.
INTERNAL_CLAUSES = (
    "infer", "comparison_key", "weighted_scores", "custom_columns", "inference_budget",
    "final_dimensions", "final_measures",
)


def walk(node: Any):
    """Yield `node` and every node below it (pre-order)."""
    if node is None:
        return
    if isinstance(node, list | tuple):
        for item in node:
            yield from walk(item)
        return
    if not isinstance(node, Node):
        return
    yield node
    for name in node.__dataclass_fields__:
        if name in ("span", "clause_spans"):
            continue
        value = getattr(node, name)
        if isinstance(value, Node | list | tuple):
            yield from walk(value)


def implicit_alias(expr: Any) -> str:
    """The output name of a select item without AS (BTQL.md rule 11)."""
    if isinstance(expr, Ident):
        pieces = [p for p in expr.name if isinstance(p, str)]
        return pieces[-1] if pieces else "value"
    if isinstance(expr, Star):
        return "star"
    op = {
        Function: lambda e: e.name.lower(),
        Comparison: lambda e: e.op,
        Includes: lambda e: "includes",
        BoolOp: lambda e: e.op,
        Ternary: lambda e: "if",
        Arith: lambda e: e.op,
        Unary: lambda e: e.op,
        Literal: lambda e: "literal",
        Interval: lambda e: "interval",
        SpanFilter: lambda e: e.kind + "_span",
    }.get(type(expr), lambda e: "expr")(expr)
    first = next((n for n in walk(expr) if isinstance(n, Ident)), None)
    if isinstance(expr, Function) and expr.args:
        arg0 = expr.args[0]
        first = arg0 if isinstance(arg0, Ident) else next((n for n in walk(arg0) if isinstance(n, Ident)), None)
    if first is None:
        return op
    return f"{op}_{implicit_alias(first)}"
