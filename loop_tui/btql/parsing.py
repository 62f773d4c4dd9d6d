"""`parse(query)`: text (either syntax, auto-detected) or ParsedQuery JSON → `ast.Query`."""

from __future__ import annotations

import json
from typing import Any

from loop_tui.btql import ast as A
from loop_tui.btql.ast_json import query_from_json
from loop_tui.btql.errors import BtqlError
from loop_tui.btql.exprparser import ExprParser, describe
from loop_tui.btql.lexer import EOF, IDENT, tokenize
from loop_tui.btql.pipe_parser import PipeParser
from loop_tui.btql.sql_parser import SqlParser

MAX_QUERY_CHARS = 100_000


def detect_syntax(tokens: list) -> str:
    """'sql' if the first word is SELECT/WITH not followed by `:`, else 'btql' (research §1.2)."""
    first = tokens[0]
    if first.kind == IDENT and str(first.value).lower() in ("select", "with") and not tokens[1].is_op(":"):
        return "sql"
    return "btql"


def parse(query: str | dict[str, Any]) -> A.Query:
    """Parse a query; raises `BtqlError(kind='parse')` with a 1-based location on bad input."""
    if isinstance(query, dict):
        return query_from_json(query)
    if not isinstance(query, str):
        raise BtqlError("parse", "bad_query", "A query must be text or a ParsedQuery object.")
    if len(query) > MAX_QUERY_CHARS:
        raise BtqlError("parse", "too_long", f"The query is longer than {MAX_QUERY_CHARS:,} characters.")
    stripped = query.lstrip()
    if stripped.startswith("{"):
        try:
            obj = json.loads(stripped)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            return query_from_json(obj)
    tokens = tokenize(query)
    try:
        if detect_syntax(tokens) == "sql":
            return SqlParser(tokens).query()
        return PipeParser(tokens).query()
    except RecursionError:
        raise BtqlError("parse", "too_deep", "The query nests too deeply.") from None


def parse_expression(text: str) -> A.Expr:
    """Parse one expression (a filter bar, a `{btql: …}` snippet)."""
    tokens = tokenize(text)
    parser = ExprParser(tokens, "btql")
    if parser.tok.kind == EOF:
        raise parser.error("The expression is empty.", code="empty_query")
    try:
        expr = parser.expr()
    except RecursionError:
        raise BtqlError("parse", "too_deep", "The expression nests too deeply.") from None
    if parser.tok.kind != EOF:
        raise parser.error(f"Unexpected {describe(parser.tok)} after the expression.")
    return expr
