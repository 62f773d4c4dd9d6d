"""The part of BTQL's JSON AST the fake evaluates: `from` an object function, `filter` comparisons, `limit`, `cursor`.

This is the shape the SDK's object fetcher sends (`{"select": [{"op": "star"}], "from": {"op": "function",
"name": {"op": "ident", "name": ["dataset"]}, "args": [{"op": "literal", "value": ID}]}, "cursor", "limit"}`)
plus the filters a sync client adds (`_xact_id > '…'`, `id IN [...]`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and b is not None and a > b,
    "ge": lambda a, b: a is not None and b is not None and a >= b,
    "lt": lambda a, b: a is not None and b is not None and a < b,
    "le": lambda a, b: a is not None and b is not None and a <= b,
}


class AstError(ValueError):
    """A query the fake cannot evaluate (answered with 400, as Braintrust answers a bad query)."""


def source(query: dict[str, Any]) -> tuple[str, str]:
    """(object kind, object id) named by the query's `from`."""
    src = query.get("from")
    try:
        assert src["op"] == "function"
        kind = src["name"]["name"][0]
        object_id = src["args"][0]["value"]
    except (AssertionError, KeyError, IndexError, TypeError):
        raise AstError("from: expected a function call such as dataset('<id>')") from None
    if kind not in ("project_logs", "experiment", "dataset"):
        raise AstError(f"from: unknown object type {kind!r}")
    return kind, str(object_id)


def _value(node: Any, row: dict[str, Any]) -> Any:
    if not isinstance(node, dict):
        raise AstError("filter: malformed expression")
    if node.get("op") == "literal":
        return node.get("value")
    if node.get("op") == "ident":
        value: Any = row
        for part in node.get("name") or []:
            value = value.get(part) if isinstance(value, dict) else None
        return value
    if node.get("op") == "array":
        return [_value(n, row) for n in node.get("expr") or node.get("children") or []]
    raise AstError(f"filter: unsupported operator {node.get('op')!r}")


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    """Transaction ids are decimal strings: compare them as numbers when both sides are."""
    if isinstance(a, str) and isinstance(b, (str, int)) and a.isdigit() and str(b).isdigit():
        return int(a), int(b)
    return a, b


def predicate(node: dict[str, Any] | None) -> Callable[[dict[str, Any]], bool] | None:
    """A row test for a filter expression (None: no filter)."""
    if node is None:
        return None

    def test(row: dict[str, Any], node: dict[str, Any] = node) -> bool:
        op = node.get("op")
        if op in ("and", "or"):
            children = node.get("children") or [node.get("left"), node.get("right")]
            results = (test(row, c) for c in children if c is not None)
            return all(results) if op == "and" else any(results)
        if op == "not":
            return not test(row, node.get("expr"))
        if op in _COMPARE:
            a, b = _comparable(_value(node.get("left"), row), _value(node.get("right"), row))
            return _COMPARE[op](a, b)
        if op == "in":
            needle = _value(node.get("left"), row)
            haystack = _value(node.get("right"), row)
            return isinstance(haystack, list) and needle in haystack
        raise AstError(f"filter: unsupported operator {op!r}")

    return test
