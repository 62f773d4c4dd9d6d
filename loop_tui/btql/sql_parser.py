"""Parser of Braintrust's SQL dialect into the same `ast.Query` the pipe syntax produces.

`SELECT … FROM src(args, shape => '…') [UNPIVOT …] [PIVOT …] WHERE … GROUP BY … HAVING … ORDER BY … LIMIT n
OFFSET '<cursor>'`. GROUP BY turns non-aggregate select items into dimensions and aggregate ones into measures
(the AST has no GROUP BY); `output_order` keeps the select order for the result columns.
"""

from __future__ import annotations

from loop_tui.btql import ast as A
from loop_tui.btql.binder import check_function_names
from loop_tui.btql.errors import BtqlError
from loop_tui.btql.exprparser import ExprParser, describe
from loop_tui.btql.functions import is_aggregate_expr
from loop_tui.btql.lexer import DQSTRING, EOF, IDENT, NUMBER, QIDENT, STRING, Token
from loop_tui.btql.pipe_parser import PipeParser

_UNSUPPORTED = {
    "join": "JOIN is not supported; query one data source at a time.",
    "union": "UNION is not supported.", "intersect": "INTERSECT is not supported.", "except": "EXCEPT is not supported.",
    "window": "Window functions are not supported.", "over": "Window functions are not supported.",
    "qualify": "QUALIFY is not supported.",
}


class SqlParser(PipeParser):
    """Parses one SQL SELECT statement."""

    def __init__(self, tokens: list[Token]) -> None:
        ExprParser.__init__(self, tokens, "sql")

    def query(self) -> A.Query:
        q = A.Query(syntax="sql", span=self.tok.span)
        if self.tok.is_kw("with"):
            raise self.error("WITH (common table expressions) is not supported.", code="unsupported_syntax")
        q.clause_spans["select"] = self.expect_kw("select").span
        if self.tok.is_kw("distinct"):
            raise self.error("SELECT DISTINCT is not supported.", code="unsupported_syntax",
                             hint="Use GROUP BY on the columns instead.")
        select_items = self._alias_list(allow_star=True)
        group_by: list[A.Expr] | None = None
        pivot_spec = None
        if not self.tok.is_kw("from"):
            hint = "Add FROM project_logs('my-project')."
            if self.tok.is_op("|"):
                hint = "This reads as SQL because it starts with SELECT; for the pipe syntax write `select:` with a colon."
            raise self.error(f"Expected FROM but found {describe(self.tok)}.", hint=hint)
        q.clause_spans["from"] = self.advance().span
        if self.tok.is_op("("):
            raise self.error("Subqueries in FROM are not supported.", code="unsupported_syntax")
        self._c_from(q)
        self._with_shape(q)
        while True:
            t = self.tok
            if t.is_kw("unpivot"):
                self._unpivot(q)
            elif t.is_kw("pivot"):
                pivot_spec = self._pivot()
            elif t.is_kw("where") and q.filter is None:
                q.clause_spans["filter"] = self.advance().span
                q.filter = self.expr()
            elif t.is_kw("group") and group_by is None:
                q.clause_spans["dimensions"] = self.advance().span
                self.expect_kw("by")
                group_by = self._expr_list()
            elif t.is_kw("having") and q.final_filter is None:
                q.clause_spans["final_filter"] = self.advance().span
                q.final_filter = self.expr()
            elif t.is_kw("order") and q.sort is None:
                q.clause_spans["sort"] = self.advance().span
                self.expect_kw("by")
                q.sort = self.sort_list()
            elif t.is_kw("limit") and q.limit is None:
                q.clause_spans["limit"] = self.advance().span
                q.limit = self._int("LIMIT")
            elif t.is_kw("offset") and q.cursor is None:
                q.clause_spans["cursor"] = self.advance().span
                c = self.tok
                if c.kind == NUMBER:
                    raise self.error("OFFSET takes a cursor string from a previous page, not a number.", code="numeric_offset",
                                     hint="Use the cursor returned with the previous page: OFFSET '<cursor>'.")
                if c.kind not in (STRING, DQSTRING):
                    raise self.error(f"Expected a cursor string after OFFSET but found {describe(c)}.", code="bad_cursor")
                q.cursor = str(self.advance().value)
            else:
                break
        if self.tok.is_op(";"):
            self.advance()
        if self.tok.kind != EOF:
            word = str(self.tok.value).lower() if self.tok.kind == IDENT else ""
            if word in _UNSUPPORTED:
                raise self.error(_UNSUPPORTED[word], code="unsupported_syntax")
            if self.toks[self.pos - 1].is_op(";"):
                raise self.error("A query is a single statement; remove what follows the `;`.", code="multiple_statements")
            raise self.error(f"Unexpected {describe(self.tok)}.")
        _apply_grouping(q, select_items, group_by, pivot_spec)
        assert q.span is not None  # set when the query started
        q.span = q.span.to(self.toks[max(self.pos - 1, 0)].span)
        return q

    def _with_shape(self, q: A.Query) -> None:
        if not (self.tok.is_kw("with") and self.peek().is_op("(")):
            return
        self.advance()
        self.advance()
        key = self.tok
        if not key.is_kw("shape"):
            raise self.error(f"Expected shape = '…' but found {describe(key)}.")
        self.advance()
        self.expect_op("=")
        value = self.tok
        if value.kind not in (STRING, DQSTRING, IDENT):
            raise self.error(f"Expected a shape name but found {describe(value)}.")
        self.advance()
        assert q.from_ is not None
        q.from_.shape = self._shape(str(value.value), value)
        self.expect_op(")", "to close WITH (…)")

    def _expr_list(self) -> list[A.Expr]:
        items = [self.expr()]
        while self.tok.is_op(","):
            self.advance()
            items.append(self.expr())
        return items

    def _unpivot(self, q: A.Query) -> None:
        start = self.advance().span
        self.expect_op("(")
        value = self._name()
        self.expect_kw("for")
        key = self._name()
        self.expect_kw("in")
        self.expect_op("(")
        col = self.add_expr()
        self.expect_op(")")
        self.expect_op(")", "to close UNPIVOT")
        names = (value,) if key == "_" else (key, value)
        q.unpivot = (q.unpivot or []) + [A.UnpivotItem(col, names, span=self.span_from(start))]

    def _name(self) -> str:
        t = self.tok
        if t.kind not in (IDENT, QIDENT, DQSTRING):
            raise self.error(f"Expected a column name but found {describe(t)}.")
        self.advance()
        return str(t.value)

    def _pivot(self):
        start = self.advance().span
        self.expect_op("(")
        aggs = []
        while True:
            s = self.tok.span
            expr = self.expr()
            alias = None
            if self.tok.is_kw("as"):
                self.advance()
                alias = self._name()
            aggs.append(A.AliasExpr(expr, alias or A.implicit_alias(expr), alias is not None, span=self.span_from(s)))
            if not self.tok.is_op(","):
                break
            self.advance()
        self.expect_kw("for")
        col = self.add_expr()
        self.expect_kw("in")
        self.expect_op("(")
        if not self.tok.is_kw("any"):
            raise self.error("PIVOT only supports IN (ANY).", code="unsupported_syntax",
                             hint="Write PIVOT(agg FOR column IN (ANY)); the values come from the data.")
        self.advance()
        self.expect_op(")")
        self.expect_op(")", "to close PIVOT")
        return aggs, col, self.span_from(start)


def _same(a: A.Expr, b: A.Expr) -> bool:
    from loop_tui.btql.ast_json import expr_to_json

    return expr_to_json(a, with_loc=False) == expr_to_json(b, with_loc=False)


def _apply_grouping(q: A.Query, items: list, group_by: list[A.Expr] | None, pivot_spec) -> None:
    """Split SQL select items into select / dimensions / measures as the AST wants them."""
    has_agg = any(isinstance(i, A.AliasExpr) and is_aggregate_expr(i.expr) for i in items)
    if group_by is None and not has_agg and pivot_spec is None:
        q.select = items
        return
    alias_items = [i for i in items if isinstance(i, A.AliasExpr)]
    star = next((i for i in items if isinstance(i, A.Star)), None)
    if star is not None:
        raise BtqlError.at("bind", "aggregate_context", "SELECT * cannot be combined with GROUP BY or aggregates.", star.span,
                           hint="List the grouped columns and the aggregates instead.")
    dims: list[A.AliasExpr] = []
    for g in group_by or []:
        target = None
        if isinstance(g, A.Literal) and isinstance(g.value, int) and not isinstance(g.value, bool):
            if not 1 <= g.value <= len(items):
                raise BtqlError.at("bind", "bad_position", f"GROUP BY {g.value} does not name a select item.", g.span)
            target = items[g.value - 1]
            if not isinstance(target, A.AliasExpr) or is_aggregate_expr(target.expr):
                raise BtqlError.at("bind", "aggregate_context", f"GROUP BY {g.value} names an aggregate.", g.span)
        elif isinstance(g, A.Ident) and len(g.name) == 1:
            target = next((i for i in alias_items if i.alias == g.name[0] and not is_aggregate_expr(i.expr)), None)
        if target is None:
            target = next((i for i in alias_items if not is_aggregate_expr(i.expr) and _same(i.expr, g)), None)
        if target is None:
            target = A.AliasExpr(g, A.implicit_alias(g), False, span=g.span)
        if target not in dims:
            dims.append(target)
    measures = [i for i in alias_items if is_aggregate_expr(i.expr)]
    for item in alias_items:
        if item in measures or item in dims:
            continue
        check_function_names(item.expr)  # a typo in a function name is the real error, not the grouping
        raise BtqlError.at("bind", "aggregate_context",
                           f"`{item.alias}` is neither grouped nor an aggregate.", item.span,
                           hint="Add it to GROUP BY or wrap it in an aggregate such as any_value().")
    order: list[str] | None = [i.alias for i in alias_items]
    if pivot_spec is not None:
        aggs, col, span = pivot_spec
        measures = measures + aggs
        q.pivot = [A.AliasExpr(col, A.implicit_alias(col), False, span=col.span)]
        q.clause_spans["pivot"] = span
        order = None  # pivot decides its own columns
    q.dimensions = dims or None
    q.measures = measures or None
    q.output_order = order
