"""BTQL, Braintrust's query language, over the local workspace.

text (pipe BTQL or Braintrust SQL) or ParsedQuery JSON → `parse` → AST → bind (schema, types) → one DuckDB
SELECT with bound parameters → `pyarrow.Table`. Every failure is a `BtqlError` with a place and a hint.
Heavy modules load lazily so importing `loop_tui.btql` stays cheap.
"""

from __future__ import annotations

from typing import Any

from loop_tui.btql.errors import BtqlError

__all__ = [
    "BtqlError", "CancelToken", "FieldInfo", "Result", "check", "describe_sources", "explain", "infer_schema", "parse",
    "run",
]


def parse(query: str | dict) -> Any:
    """Parse text (either syntax) or ParsedQuery JSON into an `ast.Query`; raises `BtqlError`."""
    from loop_tui.btql.parsing import parse as _parse

    return _parse(query)


def __getattr__(name: str) -> Any:
    if name in ("run", "Result", "CancelToken"):
        from loop_tui.btql import executor

        return getattr(executor, name)
    if name in ("check", "explain", "infer_schema", "describe_sources", "FieldInfo"):
        from loop_tui.btql import api

        return getattr(api, name)
    raise AttributeError(name)
