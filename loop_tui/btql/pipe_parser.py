"""Parser of the BTQL pipe syntax: `select: … | from: … | filter: …` (clauses by `|` or new lines)."""

from __future__ import annotations

import difflib

from loop_tui.btql import ast as A
from loop_tui.btql.errors import BtqlError
from loop_tui.btql.exprparser import ExprParser, describe
from loop_tui.btql.lexer import DQSTRING, EOF, IDENT, NUMBER, QIDENT, STRING, Token

SHAPES = ("spans", "traces", "summary")
# Words that end a select item rather than naming it (bare `expr alias` form).
_NOT_ALIASES = frozenset(
    ["asc", "desc", "and", "or", "from", "where", "group", "order", "having", "limit", "offset", "pivot", "unpivot", "with", "for", "in", "not", "is", "like", "ilike", "match", "includes", "contains"]
)


class PipeParser(ExprParser):
    """Parses a whole pipe-syntax query into `ast.Query`."""

    def __init__(self, tokens: list[Token]) -> None:
        super().__init__(tokens, "btql")

    def query(self) -> A.Query:
        q = A.Query(syntax="btql", span=self.tok.span)
        if self.tok.kind == EOF:
            raise self.error("The query is empty.", code="empty_query",
                             hint="Start with a clause, e.g. select: * | from: project_logs('my-project') | limit: 10")
        while True:
            while self.tok.is_op("|"):
                self.advance()
            if self.tok.kind == EOF:
                break
            self._clause(q)
            if self.tok.is_op(";"):
                raise self.error("A query is a single statement; remove the `;`.", code="multiple_statements")
            if self.tok.kind == EOF:
                break
            if self.tok.is_op("|") or self._at_clause_start():
                continue
            raise self.error(f"Unexpected {describe(self.tok)} after the clause.",
                             hint="Separate clauses with `|` or a new line.")
        assert q.span is not None  # set when the query started
        q.span = q.span.to(self.toks[max(self.pos - 1, 0)].span)
        _resolve_positional_dimensions(q)
        return q

    def _at_clause_start(self) -> bool:
        return self.tok.kind == IDENT and self.peek().is_op(":")

    def _clause(self, q: A.Query) -> None:
        name_tok = self.tok
        if name_tok.kind != IDENT or not self.peek().is_op(":"):
            hint = None
            if name_tok.kind == IDENT and str(name_tok.value).lower() in A.CLAUSES:
                hint = f"Write `{str(name_tok.value).lower()}:` with a colon."
            raise self.error(f"Expected a clause such as `select:` or `filter:` but found {describe(name_tok)}.",
                             code="unexpected_token", hint=hint)
        name = str(name_tok.value).lower()
        if name in A.INTERNAL_CLAUSES:
            raise BtqlError.at("parse", "unsupported_clause", f"The `{name}` clause is internal to Braintrust and not supported here.",
                               name_tok.span)
        if name not in A.CLAUSES:
            close = difflib.get_close_matches(name, A.CLAUSES, n=1)
            raise BtqlError.at("parse", "unknown_clause", f"Unknown clause `{name_tok.value}`.", name_tok.span,
                               hint=f"Did you mean `{close[0]}:`?" if close else "Clauses: " + ", ".join(A.CLAUSES) + ".")
        if name in q.clause_spans:
            raise BtqlError.at("parse", "duplicate_clause", f"The `{name}` clause appears twice.", name_tok.span,
                               hint="Combine them into one clause.")
        q.clause_spans[name] = name_tok.span
        self.advance()
        self.advance()  # ':'
        getattr(self, f"_c_{name}")(q)

    # -- clause bodies ----------------------------------------------------------------------
    def _alias_list(self, allow_star: bool) -> list:
        items: list = []
        while True:
            start = self.tok.span
            if allow_star and self.tok.is_op("*") and not self.peek().is_op("(", "."):
                items.append(A.Star(span=self.advance().span))
            else:
                expr = self.expr()
                alias = self._maybe_alias()
                if alias is None:
                    items.append(A.AliasExpr(expr, A.implicit_alias(expr), False, span=self.span_from(start)))
                else:
                    items.append(A.AliasExpr(expr, alias, True, span=self.span_from(start)))
            if not self.tok.is_op(","):
                return items
            self.advance()

    def _maybe_alias(self) -> str | None:
        if self.tok.is_kw("as"):
            self.advance()
            t = self.tok
            if t.kind in (IDENT, QIDENT, DQSTRING, STRING):
                self.advance()
                return str(t.value)
            raise self.error(f"Expected a name after AS but found {describe(t)}.")
        t = self.tok
        if t.kind in (QIDENT, DQSTRING) or (t.kind == IDENT and not self.peek().is_op(":")
                                            and str(t.value).lower() not in _NOT_ALIASES):
            if t.kind == IDENT and t.first_on_line:
                return None
            self.advance()
            return str(t.value)
        return None

    def _c_select(self, q: A.Query) -> None:
        q.select = self._alias_list(allow_star=True)

    def _c_dimensions(self, q: A.Query) -> None:
        q.dimensions = self._alias_list(allow_star=False)

    def _c_measures(self, q: A.Query) -> None:
        q.measures = self._alias_list(allow_star=False)

    def _c_pivot(self, q: A.Query) -> None:
        q.pivot = self._alias_list(allow_star=False)

    def _c_filter(self, q: A.Query) -> None:
        q.filter = self.expr()

    def _c_final_filter(self, q: A.Query) -> None:
        q.final_filter = self.expr()

    def _c_span_filter(self, q: A.Query) -> None:
        q.span_filter = self.expr()

    def _c_trace_filter(self, q: A.Query) -> None:
        q.trace_filter = self.expr()

    def _c_from(self, q: A.Query) -> None:
        t = self.tok
        if t.kind not in (IDENT, QIDENT):
            raise self.error(f"Expected a data source such as project_logs('my-project') but found {describe(t)}.",
                             code="unexpected_token")
        self.advance()
        args: list[A.Expr] = []
        shape = None
        if self.tok.is_op("("):
            self.advance()
            while not self.tok.is_op(")"):
                if self.tok.kind == IDENT and self.peek().is_op("=>"):
                    key = self.advance()
                    self.advance()
                    value = self.expr()
                    if str(key.value).lower() != "shape" or not isinstance(value, A.Literal):
                        raise BtqlError.at("parse", "unexpected_token", f"Unknown named argument `{key.value}`.", key.span)
                    shape = self._shape(str(value.value), value)
                else:
                    args.append(self.expr())
                if not self.tok.is_op(","):
                    break
                self.advance()
            self.expect_op(")", "to close the data source")
        if self.mode == "sql":
            pass
        elif self.tok.kind == IDENT and not self.peek().is_op(":") and str(self.tok.value).lower() in SHAPES + ("span", "trace"):
            shape = self._shape(str(self.advance().value), self.toks[self.pos - 1])
        elif self.tok.kind == IDENT and not self.peek().is_op(":") and not self.tok.first_on_line:
            raise self.error(f"Unknown shape {describe(self.tok)}.", code="unknown_shape", hint="Shapes: spans, traces, summary.")
        q.from_ = A.Source(str(t.value), args, shape, span=self.span_from(t.span))

    def _shape(self, word: str, where) -> str:
        low = word.lower()
        low = {"span": "spans", "trace": "traces"}.get(low, low)
        if low not in SHAPES:
            raise BtqlError.at("parse", "unknown_shape", f"Unknown shape `{word}`.", where.span, hint="Shapes: spans, traces, summary.")
        return low

    def _c_sort(self, q: A.Query) -> None:
        q.sort = self.sort_list()

    def sort_list(self) -> list[A.SortItem]:
        items = []
        while True:
            start = self.tok.span
            expr = self.expr()
            direction = "asc"
            if self.tok.is_kw("asc", "desc"):
                direction = str(self.advance().value).lower()
            items.append(A.SortItem(expr, direction, span=self.span_from(start)))
            if not self.tok.is_op(","):
                return items
            self.advance()

    def _int(self, what: str, allow_negative_one: bool = False) -> int:
        neg = False
        start = self.tok
        if allow_negative_one and self.tok.is_op("-"):
            self.advance()
            neg = True
        t = self.tok
        if t.kind != NUMBER or not isinstance(t.value, int):
            raise self.error(f"{what} must be a whole number, not {describe(t)}.", code="bad_number")
        self.advance()
        value = -t.value if neg else t.value
        if neg and value != -1:
            raise BtqlError.at("parse", "bad_number", f"{what} must be positive or -1.", start.span.to(t.span))
        return value

    def _c_limit(self, q: A.Query) -> None:
        q.limit = self._int("limit")

    def _c_preview_length(self, q: A.Query) -> None:
        q.preview_length = self._int("preview_length", allow_negative_one=True)

    def _c_cursor(self, q: A.Query) -> None:
        t = self.tok
        if t.kind not in (STRING, DQSTRING):
            raise self.error("cursor must be a quoted string from a previous page.", code="bad_cursor")
        self.advance()
        q.cursor = str(t.value)

    def _c_unpivot(self, q: A.Query) -> None:
        items = []
        while True:
            start = self.tok.span
            expr = self.expr()
            self.expect_kw("as")
            names: list[str] = []
            if self.tok.is_op("("):
                self.advance()
                while True:
                    t = self.tok
                    if t.kind not in (IDENT, QIDENT, DQSTRING):
                        raise self.error(f"Expected a column name but found {describe(t)}.")
                    names.append(str(self.advance().value))
                    if not self.tok.is_op(","):
                        break
                    self.advance()
                self.expect_op(")", "to close the unpivot names")
            elif self.tok.kind in (IDENT, QIDENT, DQSTRING):
                names.append(str(self.advance().value))
            else:
                raise self.error(f"Expected (key, value) or (value) after AS but found {describe(self.tok)}.")
            if len(names) > 2:
                raise BtqlError.at("parse", "unexpected_token", "unpivot takes (key, value) or (value).", self.span_from(start))
            items.append(A.UnpivotItem(expr, tuple(names), span=self.span_from(start)))
            if not self.tok.is_op(","):
                break
            self.advance()
        q.unpivot = items

    def _c_sample(self, q: A.Query) -> None:
        start = self.tok
        if start.kind != NUMBER:
            raise self.error("Write sample: 25%, sample: 0.25 or sample: 100 rows.", code="bad_sample")
        self.advance()
        value = float(start.value)  # type: ignore[arg-type]
        if self.tok.is_op("%"):
            self.advance()
            method, value = "rate", value / 100.0
        elif self.tok.is_kw("rows", "row"):
            self.advance()
            method = "count"
            if not isinstance(start.value, int) or start.value < 1:
                raise BtqlError.at("parse", "bad_sample", "A row count must be a whole number of at least 1.", start.span)
        else:
            method = "rate"
        if method == "rate" and not 0 < value <= 1:
            raise BtqlError.at("parse", "bad_sample", "A sample rate must be between 0 and 1 (or 0% and 100%).", start.span,
                               hint="For a number of rows write sample: 100 rows.")
        seed = None
        if self.tok.is_kw("seed"):
            self.advance()
            seed = self._int("seed")
        q.sample = A.Sample(method, value, seed, span=self.span_from(start.span))


def _resolve_positional_dimensions(q: A.Query) -> None:
    """`dimensions: 1, 2` refers to select positions (a form the docs use with `select:`)."""
    for attr in ("dimensions",):
        items = getattr(q, attr)
        if not items:
            continue
        for i, item in enumerate(items):
            if isinstance(item.expr, A.Literal) and isinstance(item.expr.value, int) and not isinstance(item.expr.value, bool):
                n = item.expr.value
                sel = [s for s in (q.select or []) if isinstance(s, A.AliasExpr)]
                if not 1 <= n <= len(sel):
                    raise BtqlError.at("bind", "bad_position", f"Position {n} does not name a select item.", item.span)
                items[i] = A.AliasExpr(sel[n - 1].expr, sel[n - 1].alias, sel[n - 1].explicit, span=item.span)
        if q.select and q.dimensions:
            # select items that became dimensions are not separate output columns.
            dim_aliases = {d.alias for d in q.dimensions}
            q.select = [s for s in q.select if not (isinstance(s, A.AliasExpr) and s.alias in dim_aliases)] or None
