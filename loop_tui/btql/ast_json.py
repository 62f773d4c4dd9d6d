"""AST <-> Braintrust ParsedQuery JSON (research §3), so structured queries round-trip exactly."""

from __future__ import annotations

from typing import Any

from loop_tui.btql import ast as A
from loop_tui.btql.errors import BtqlError
from loop_tui.btql.lexer import Span

_UNARY = ("not", "isnull", "isnotnull", "neg")
_CMP = ("eq", "ne", "is", "lt", "le", "gt", "ge", "like", "ilike", "match", "in")
_ARITH = ("add", "sub", "mul", "div", "mod")
_EXPR_LIST_CLAUSES = ("dimensions", "measures", "pivot")
_EXPR_CLAUSES = ("filter", "final_filter", "span_filter", "trace_filter")


def _loc(span: Span | None) -> dict | None:
    if span is None:
        return None
    return {"start": {"line": span.line, "col": span.col}, "end": {"line": span.end_line, "col": span.end_col}}


def expr_to_json(node: Any, with_loc: bool = True) -> dict:
    """One expression node as ParsedQuery JSON."""
    e = lambda n: expr_to_json(n, with_loc)  # noqa: E731
    if isinstance(node, A.Literal):
        out: dict[str, Any] = {"op": "literal", "value": node.value}
    elif isinstance(node, A.Interval):
        out = {"op": "interval", "value": node.value, "unit": node.unit}
    elif isinstance(node, A.Ident):
        out = {"op": "ident", "name": list(node.name)}
    elif isinstance(node, A.Star):
        out = {"op": "star"}
    elif isinstance(node, A.Function):
        out = {"op": "function", "name": {"op": "ident", "name": [node.name]}, "args": [e(a) for a in node.args]}
        if node.distinct:
            out["duplicate_treatment"] = "Distinct"
    elif isinstance(node, A.AliasExpr):
        return {"expr": e(node.expr), "alias": node.alias}
    elif isinstance(node, A.Comparison):
        out = {"op": node.op, "left": e(node.left), "right": e(node.right)}
    elif isinstance(node, A.Includes):
        out = {"op": "includes", "haystack": e(node.haystack), "needle": e(node.needle)}
    elif isinstance(node, A.BoolOp):
        out = {"op": node.op, "children": [e(c) for c in node.children]}
    elif isinstance(node, A.Ternary):
        out = {"op": "if", "conds": [{"cond": e(c), "then": e(t)} for c, t in node.conds], "else": e(node.else_)}
    elif isinstance(node, A.Arith):
        out = {"op": node.op, "left": e(node.left), "right": e(node.right)}
    elif isinstance(node, A.Unary):
        out = {"op": node.op, "expr": e(node.expr)}
    elif isinstance(node, A.SpanFilter):
        out = {"op": "singlespanfilter" if node.kind == "any" else "matchingspansfilter", "expr": e(node.expr)}
    else:  # pragma: no cover - every node type is handled above
        raise TypeError(f"not an expression: {node!r}")
    if with_loc and node.span is not None:
        out["loc"] = _loc(node.span)
    return out


def query_to_json(q: A.Query, with_loc: bool = True) -> dict:
    """A whole query as a ParsedQuery object (absent clauses omitted)."""
    e = lambda n: expr_to_json(n, with_loc)  # noqa: E731
    out: dict[str, Any] = {}
    if q.select is not None:
        out["select"] = [e(s) for s in q.select]
    if q.from_ is not None:
        src = q.from_
        if src.args or src.shape:
            out["from"] = {"op": "function", "name": {"op": "ident", "name": [src.name]}, "args": [e(a) for a in src.args]}
            if src.shape:
                out["from"]["shape"] = src.shape
        else:
            out["from"] = {"op": "ident", "name": [src.name]}
        if with_loc and src.span is not None:
            out["from"]["loc"] = _loc(src.span)
    for key in _EXPR_CLAUSES:
        value = getattr(q, key)
        if value is not None:
            out[key] = e(value)
    for key in _EXPR_LIST_CLAUSES:
        value = getattr(q, key)
        if value is not None:
            out[key] = [e(v) for v in value]
    if q.unpivot is not None:
        out["unpivot"] = [
            {"expr": e(u.expr), "alias": u.aliases[0] if len(u.aliases) == 1 else list(u.aliases)} for u in q.unpivot
        ]
    if q.sort is not None:
        out["sort"] = [{"expr": e(s.expr), "dir": s.dir} for s in q.sort]
    for key in ("limit", "cursor", "preview_length"):
        if getattr(q, key) is not None:
            out[key] = getattr(q, key)
    if q.sample is not None:
        sample: dict[str, Any] = {"method": {"type": q.sample.method, "value": q.sample.value}}
        if q.sample.seed is not None:
            sample["seed"] = q.sample.seed
        out["sample"] = sample
    return out


# -- JSON -> AST --------------------------------------------------------------------------------

def _bad(path: str, message: str) -> BtqlError:
    return BtqlError("parse", "bad_ast", f"Invalid query object at {path}: {message}")


def _span(obj: dict) -> Span | None:
    loc = obj.get("loc")
    try:
        return Span(loc["start"]["line"], loc["start"]["col"], loc["end"]["line"], loc["end"]["col"]) if loc else None
    except (KeyError, TypeError):
        return None


def expr_from_json(obj: Any, path: str = "$") -> Any:
    """One ParsedQuery expression (or AliasExpr / `{btql: …}` snippet) as an AST node."""
    if not isinstance(obj, dict):
        raise _bad(path, "expected an object")
    if "btql" in obj and obj.get("op", "btql") == "btql":
        from loop_tui.btql.parsing import parse_expression

        return parse_expression(str(obj["btql"]))
    if "op" not in obj and "expr" in obj and "alias" in obj:
        return A.AliasExpr(expr_from_json(obj["expr"], path + ".expr"), str(obj["alias"]), True)
    op = obj.get("op")
    span = _span(obj)
    sub = lambda k: expr_from_json(obj.get(k), f"{path}.{k}")  # noqa: E731
    try:
        if op == "literal":
            return A.Literal(obj.get("value"), span=span)
        if op == "interval":
            return A.Interval(int(obj["value"]), str(obj["unit"]), span=span)
        if op == "ident":
            name = obj["name"]
            if not isinstance(name, list) or not name or not all(isinstance(p, str | int) for p in name):
                raise _bad(path, "ident.name must be a non-empty list of strings and integers")
            return A.Ident(list(name), span=span)
        if op == "star":
            return A.Star(span=span)
        if op == "function":
            fname = obj["name"]["name"] if isinstance(obj.get("name"), dict) else obj.get("name")
            if isinstance(fname, list):
                fname = ".".join(str(p) for p in fname)
            args = [expr_from_json(a, f"{path}.args[{i}]") for i, a in enumerate(obj.get("args") or [])]
            return A.Function(str(fname), args, obj.get("duplicate_treatment") == "Distinct", span=span)
        if op in _CMP:
            return A.Comparison(op, sub("left"), sub("right"), span=span)
        if op == "includes":
            return A.Includes(sub("haystack"), sub("needle"), span=span)
        if op in ("and", "or"):
            children = obj.get("children")
            if children is None:
                children = [obj.get("left"), obj.get("right")]
            nodes = [expr_from_json(c, f"{path}.children[{i}]") for i, c in enumerate(children) if c is not None]
            if not nodes:
                raise _bad(path, f"`{op}` needs children")
            return nodes[0] if len(nodes) == 1 else A.BoolOp(op, nodes, span=span)
        if op == "if":
            conds = [(expr_from_json(c["cond"], f"{path}.conds[{i}].cond"), expr_from_json(c["then"], f"{path}.conds[{i}].then"))
                     for i, c in enumerate(obj["conds"])]
            return A.Ternary(conds, sub("else"), span=span)
        if op in _ARITH:
            return A.Arith(op, sub("left"), sub("right"), span=span)
        if op in _UNARY:
            return A.Unary(op, sub("expr"), span=span)
        if op in ("singlespanfilter", "matchingspansfilter"):
            return A.SpanFilter("any" if op == "singlespanfilter" else "filter", sub("expr"), span=span)
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad(path, f"missing or malformed field ({exc})") from None
    raise _bad(path, f"unknown op {op!r}")


def _alias_list(items: Any, path: str, allow_star: bool) -> list:
    if not isinstance(items, list):
        raise _bad(path, "expected a list")
    out: list[A.AliasExpr | A.Star] = []
    for i, item in enumerate(items):
        node = expr_from_json(item, f"{path}[{i}]")
        if isinstance(node, A.Star) and allow_star:
            out.append(node)
        elif isinstance(node, A.AliasExpr):
            node.explicit = node.alias != A.implicit_alias(node.expr)
            out.append(node)
        else:
            out.append(A.AliasExpr(node, A.implicit_alias(node), False, span=node.span))
    return out


def query_from_json(obj: Any) -> A.Query:
    """A ParsedQuery object as an `ast.Query`; unknown keys are a parse error naming the key."""
    try:
        return _query_from_json(obj)
    except BtqlError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        raise _bad("$", f"malformed ({type(exc).__name__})") from None


def _query_from_json(obj: Any) -> A.Query:
    if not isinstance(obj, dict):
        raise _bad("$", "a query must be a JSON object")
    q = A.Query(syntax="json")
    allowed = set(A.CLAUSES) | {"unpivot", "sort", "sample"}
    for key in obj:
        if key in A.INTERNAL_CLAUSES:
            raise BtqlError("parse", "unsupported_clause", f"The `{key}` clause is internal to Braintrust and not supported here.")
        if key not in allowed:
            raise BtqlError("parse", "unknown_clause", f"Unknown clause `{key}` in the query object.")
    if obj.get("select") is not None:
        q.select = _alias_list(obj["select"], "$.select", True)
    if obj.get("from") is not None:
        src = obj["from"]
        node = expr_from_json(src, "$.from")
        if isinstance(node, A.Ident):
            q.from_ = A.Source(str(node.name[0]), [], None, span=node.span)
        elif isinstance(node, A.Function):
            shape = src.get("shape")
            if shape is not None and shape not in ("spans", "traces", "summary"):
                raise _bad("$.from.shape", f"unknown shape {shape!r}")
            q.from_ = A.Source(node.name, [a for a in node.args if not isinstance(a, A.AliasExpr)], shape, span=node.span)
        else:
            raise _bad("$.from", "expected an ident or a function")
    for key in _EXPR_CLAUSES:
        if obj.get(key) is not None:
            setattr(q, key, expr_from_json(obj[key], f"$.{key}"))
    for key in _EXPR_LIST_CLAUSES:
        if obj.get(key) is not None:
            setattr(q, key, _alias_list(obj[key], f"$.{key}", False))
    if obj.get("unpivot") is not None:
        items = []
        for i, u in enumerate(obj["unpivot"]):
            alias = u.get("alias") if isinstance(u, dict) else None
            names = (alias,) if isinstance(alias, str) else tuple(alias or ())
            if not 1 <= len(names) <= 2:
                raise _bad(f"$.unpivot[{i}].alias", "expected a name or [key, value]")
            items.append(A.UnpivotItem(expr_from_json(u.get("expr"), f"$.unpivot[{i}].expr"), names))
        q.unpivot = items
    if obj.get("sort") is not None:
        sorts = []
        for i, s in enumerate(obj["sort"]):
            if not isinstance(s, dict) or s.get("dir", "asc") not in ("asc", "desc"):
                raise _bad(f"$.sort[{i}]", "expected {expr, dir: asc|desc}")
            sorts.append(A.SortItem(expr_from_json(s.get("expr"), f"$.sort[{i}].expr"), s.get("dir", "asc")))
        q.sort = sorts
    for key in ("limit", "preview_length"):
        value = obj.get(key)
        if value is not None:
            if not isinstance(value, int) or isinstance(value, bool) or (value < 0 and not (key == "preview_length" and value == -1)):
                raise _bad(f"$.{key}", "expected a non-negative integer")
            setattr(q, key, value)
    if obj.get("cursor") is not None:
        if not isinstance(obj["cursor"], str):
            raise _bad("$.cursor", "expected a string")
        q.cursor = obj["cursor"]
    if obj.get("sample") is not None:
        s = obj["sample"]
        try:
            method, value = s["method"]["type"], float(s["method"]["value"])
        except (KeyError, TypeError, ValueError):
            raise _bad("$.sample", "expected {method: {type, value}, seed?}") from None
        if method not in ("rate", "count") or (method == "rate" and not 0 < value <= 1) or (method == "count" and value < 1):
            raise _bad("$.sample", "rate must be in (0, 1], count at least 1")
        q.sample = A.Sample(method, value, s.get("seed"))
    return q
