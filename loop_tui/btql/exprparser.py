"""The expression grammar shared by both syntaxes (precedence per BTQL.md rule 3).

postfix > unary > `* / %` > `+ -` > comparisons (non-associative) > NOT > AND > OR > `?:` (right-assoc).
"""

from __future__ import annotations

import difflib

from loop_tui.btql import ast as A
from loop_tui.btql.errors import BtqlError
from loop_tui.btql.lexer import DQSTRING, EOF, IDENT, NUMBER, OP, QIDENT, STRING, Span, Token

KEYWORDS = {
    "and", "or", "not", "is", "in", "like", "ilike", "match", "includes", "contains", "as", "asc", "desc",
}
_CMP_OPS = {"=": "eq", "!=": "ne", "<>": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge", "<=>": "is"}
_INFIX_WORDS = ("like", "ilike", "match", "includes", "contains", "in")
INTERVAL_UNITS = {
    "year": "year", "years": "year", "month": "month", "months": "month", "week": "week", "weeks": "week",
    "day": "day", "days": "day", "hour": "hour", "hours": "hour", "minute": "minute", "minutes": "minute",
    "second": "second", "seconds": "second", "millisecond": "millisecond", "milliseconds": "millisecond",
    "microsecond": "microsecond", "microseconds": "microsecond",
}
CAST_TYPES = {
    "string": "to_string", "varchar": "to_string", "text": "to_string", "number": "to_number",
    "double": "to_number", "float": "to_number", "numeric": "to_number", "decimal": "to_number",
    "integer": "to_integer", "int": "to_integer", "bigint": "to_integer", "boolean": "to_boolean",
    "bool": "to_boolean", "datetime": "to_datetime", "timestamp": "to_datetime", "date": "to_date",
    "interval": "to_interval",
}


def describe(tok: Token) -> str:
    """How a token is named in messages."""
    if tok.kind == EOF:
        return "the end of the query"
    return f"`{tok.text}`"


class ExprParser:
    """Recursive-descent parser over a token list; `mode` is 'btql' or 'sql'."""

    def __init__(self, tokens: list[Token], mode: str = "btql") -> None:
        self.toks = tokens
        self.pos = 0
        self.mode = mode

    # -- token helpers -------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.toks[self.pos]

    def peek(self, k: int = 1) -> Token:
        return self.toks[min(self.pos + k, len(self.toks) - 1)]

    def advance(self) -> Token:
        tok = self.toks[self.pos]
        if tok.kind != EOF:
            self.pos += 1
        return tok

    def error(self, message: str, tok: Token | None = None, code: str = "unexpected_token", hint: str | None = None):
        tok = tok or self.tok
        if tok.kind == EOF and code == "unexpected_token":
            code = "unexpected_end"
        return BtqlError.at("parse", code, message, tok.span, hint)

    def expect_op(self, op: str, what: str | None = None) -> Token:
        if not self.tok.is_op(op):
            raise self.error(f"Expected `{op}`{' ' + what if what else ''} but found {describe(self.tok)}.")
        return self.advance()

    def expect_kw(self, word: str) -> Token:
        if not self.tok.is_kw(word):
            raise self.error(f"Expected `{word.upper()}` but found {describe(self.tok)}.")
        return self.advance()

    def span_from(self, start: Span) -> Span:
        prev = self.toks[self.pos - 1] if self.pos > 0 else self.tok
        return start.to(prev.span)

    # -- grammar -------------------------------------------------------------------------------
    def expr(self) -> A.Expr:
        start = self.tok.span
        cond = self.or_expr()
        if not self.tok.is_op("?"):
            return cond
        self.advance()
        then = self.expr()
        self.expect_op(":", "in the `? :` conditional")
        else_ = self.expr()
        conds = [(cond, then)]
        if isinstance(else_, A.Ternary):
            conds += else_.conds
            else_ = else_.else_
        return A.Ternary(conds, else_, span=self.span_from(start))

    def _bool_chain(self, word: str, sub) -> A.Expr:
        start = self.tok.span
        first = sub()
        children = [first]
        while self.tok.is_kw(word):
            self.advance()
            children.append(sub())
        if len(children) == 1:
            return first
        flat: list[A.Expr] = []
        for child in children:
            flat += child.children if isinstance(child, A.BoolOp) and child.op == word and child.span is None else [child]
        return A.BoolOp(word, flat, span=self.span_from(start))

    def or_expr(self) -> A.Expr:
        return self._bool_chain("or", self.and_expr)

    def and_expr(self) -> A.Expr:
        return self._bool_chain("and", self.not_expr)

    def not_expr(self) -> A.Expr:
        if self.tok.is_kw("not"):
            start = self.advance().span
            inner = self.not_expr()
            return A.Unary("not", inner, span=self.span_from(start))
        return self.cmp_expr()

    def cmp_expr(self) -> A.Expr:
        start = self.tok.span
        left = self.add_expr()
        result = self._cmp_tail(left, start)
        if result is not left and self._at_cmp_operator():
            raise self.error(
                f"Comparisons cannot be chained: {describe(self.tok)} follows another comparison.",
                code="chained_comparison", hint="Join the two comparisons with AND.",
            )
        return result

    def _at_cmp_operator(self) -> bool:
        t = self.tok
        if t.kind == OP and (t.value in _CMP_OPS or t.value == "<!=>"):
            return True
        if t.is_kw(*_INFIX_WORDS, "is", "isnull", "isnotnull"):
            return True
        return t.is_kw("not") and self.peek().is_kw(*_INFIX_WORDS)

    def _cmp_tail(self, left: A.Expr, start: Span) -> A.Expr:
        t = self.tok
        if t.kind == OP and t.value in _CMP_OPS:
            self.advance()
            right = self.add_expr()
            return A.Comparison(_CMP_OPS[str(t.value)], left, right, span=self.span_from(start))
        if t.is_op("<!=>"):
            self.advance()
            right = self.add_expr()
            span = self.span_from(start)
            return A.Unary("not", A.Comparison("is", left, right, span=span), span=span)
        if t.is_kw("isnull", "isnotnull"):
            self.advance()
            return A.Unary(str(t.value).lower(), left, span=self.span_from(start))
        if t.is_kw("is"):
            self.advance()
            negate = False
            if self.tok.is_kw("not"):
                self.advance()
                negate = True
            if self.tok.is_kw("null"):
                self.advance()
                return A.Unary("isnotnull" if negate else "isnull", left, span=self.span_from(start))
            if self.tok.is_kw("true", "false"):
                value = self.advance().is_kw("true")
                cmp = A.Comparison("is", left, A.Literal(value, span=self.toks[self.pos - 1].span), span=self.span_from(start))
                return A.Unary("not", cmp, span=cmp.span) if negate else cmp
            raise self.error(f"Expected NULL after IS but found {describe(self.tok)}.")
        negate = False
        if t.is_kw("not") and self.peek().is_kw(*_INFIX_WORDS):
            self.advance()
            negate = True
        word_tok = self.tok
        if not word_tok.is_kw(*_INFIX_WORDS):
            return left
        word = str(word_tok.value).lower()
        self.advance()
        node: A.Expr
        if word in ("includes", "contains"):
            if self.mode == "sql":
                raise BtqlError.at(
                    "parse", "unsupported_syntax", f"{word.upper()} is not an operator in SQL mode.",
                    word_tok.span, hint=f"Write {word}(haystack, needle) as a function, or use the BTQL pipe syntax.",
                )
            node = A.Includes(left, self.add_expr(), span=None)
        elif word == "in":
            node = A.Comparison("in", left, self._in_list(), span=None)
        else:
            node = A.Comparison(word, left, self.add_expr(), span=None)
        node.span = self.span_from(start)
        return A.Unary("not", node, span=node.span) if negate else node

    def _in_list(self) -> A.Literal:
        start = self.tok.span
        if self.tok.is_op("["):
            close = "]"
        elif self.tok.is_op("("):
            close = ")"
        else:
            raise self.error(f"Expected a list like ['a', 'b'] after IN but found {describe(self.tok)}.")
        self.advance()
        items: list[object] = []
        while not self.tok.is_op(close):
            items.append(self._literal_value(self.expr()))
            if not self.tok.is_op(","):
                break
            self.advance()
        self.expect_op(close, "to close the IN list")
        return A.Literal(items, span=self.span_from(start))

    def _literal_value(self, node: A.Expr) -> object:
        if isinstance(node, A.Literal):
            return node.value
        span = node.span or self.tok.span
        raise BtqlError.at("parse", "non_literal", "Lists may only hold literal values (strings, numbers, booleans, null).", span)

    def add_expr(self) -> A.Expr:
        return self._arith(("+", "-"), {"+": "add", "-": "sub"}, self.mul_expr)

    def mul_expr(self) -> A.Expr:
        return self._arith(("*", "/", "%"), {"*": "mul", "/": "div", "%": "mod"}, self.unary)

    def _arith(self, ops: tuple[str, ...], names: dict[str, str], sub) -> A.Expr:
        start = self.tok.span
        left = sub()
        while self.tok.is_op(*ops):
            op = names[str(self.advance().value)]
            right = sub()
            left = A.Arith(op, left, right, span=self.span_from(start))
        return left

    def unary(self) -> A.Expr:
        if self.tok.is_op("-", "+"):
            start = self.advance()
            inner = self.unary()
            if start.value == "+":
                return inner
            span = self.span_from(start.span)
            if isinstance(inner, A.Literal) and isinstance(inner.value, int | float) and not isinstance(inner.value, bool):
                return A.Literal(-inner.value, span=span)
            return A.Unary("neg", inner, span=span)
        return self.postfix()

    def postfix(self) -> A.Expr:
        start = self.tok.span
        node = self.primary()
        while True:
            if self.tok.is_op(".") or self.tok.is_op("["):
                if not isinstance(node, A.Ident):
                    raise self.error("Only fields can be followed by `.name` or `[index]`.", code="unexpected_token")
                node = A.Ident(node.name + [self._path_piece()], span=None)
                node.span = self.span_from(start)
                continue
            if self.tok.is_op("::"):
                raise self.error("The `::` cast is not supported.", code="unsupported_syntax",
                                 hint="Use CAST(x AS number) or to_number(x).")
            if self.tok.is_op("->", "->>"):
                raise self.error("The `->` JSON operators are not supported.", code="unsupported_syntax",
                                 hint="Use a path such as metadata.model.")
            return node

    def _path_piece(self) -> str | int:
        if self.advance().value == ".":
            t = self.tok
            if t.kind in (IDENT, QIDENT, DQSTRING, STRING):
                self.advance()
                return str(t.value)
            if t.kind == NUMBER and isinstance(t.value, int):
                self.advance()
                return str(t.value)
            raise self.error(f"Expected a field name after `.` but found {describe(t)}.")
        neg = False
        if self.tok.is_op("-"):
            self.advance()
            neg = True
        t = self.tok
        if t.kind == NUMBER and isinstance(t.value, int):
            self.advance()
            piece: str | int = -t.value if neg else t.value
        elif t.kind in (STRING, DQSTRING) and not neg:
            self.advance()
            piece = str(t.value)
        else:
            raise self.error(f"Expected an index or a quoted key inside `[ ]` but found {describe(t)}.")
        self.expect_op("]", "to close the index")
        return piece

    def primary(self) -> A.Expr:
        t = self.tok
        if t.kind == NUMBER:
            self.advance()
            return A.Literal(t.value, span=t.span)
        if t.kind == STRING:
            self.advance()
            return A.Literal(t.value, span=t.span)
        if t.kind == DQSTRING:
            self.advance()
            if self.tok.is_op(".", "[") and self.tok.span.col == t.span.end_col:
                return A.Ident([str(t.value)], span=t.span)
            return A.Literal(t.value, span=t.span)
        if t.kind == QIDENT:
            self.advance()
            return A.Ident([str(t.value)], span=t.span)
        if t.is_op("("):
            self.advance()
            if self.tok.is_kw("select"):
                raise self.error("Subqueries are not supported.", code="unsupported_syntax")
            inner = self.expr()
            self.expect_op(")", "to close the parenthesis")
            return inner
        if t.is_op("["):
            return self._array_literal()
        if t.is_op("{"):
            return self._object_literal()
        if t.is_op("*"):
            self.advance()
            return A.Star(span=t.span)
        if t.kind == IDENT:
            return self._word()
        raise self.error(f"Expected a value or a field but found {describe(t)}.")

    def _array_literal(self) -> A.Literal:
        start = self.advance().span
        items: list[object] = []
        while not self.tok.is_op("]"):
            items.append(self._literal_value(self.expr()))
            if not self.tok.is_op(","):
                break
            self.advance()
        self.expect_op("]", "to close the array")
        return A.Literal(items, span=self.span_from(start))

    def _object_literal(self) -> A.Literal:
        start = self.advance().span
        obj: dict[str, object] = {}
        while not self.tok.is_op("}"):
            key = self.tok
            if key.kind not in (IDENT, STRING, DQSTRING, QIDENT):
                raise self.error(f"Expected an object key but found {describe(key)}.")
            self.advance()
            self.expect_op(":", "after the object key")
            obj[str(key.value)] = self._literal_value(self.expr())
            if not self.tok.is_op(","):
                break
            self.advance()
        self.expect_op("}", "to close the object")
        return A.Literal(obj, span=self.span_from(start))

    def _word(self) -> A.Expr:
        t = self.advance()
        word = str(t.value)
        low = word.lower()
        if low in ("true", "false"):
            return A.Literal(low == "true", span=t.span)
        if low == "null":
            return A.Literal(None, span=t.span)
        if low == "interval":
            return self._interval(t)
        if low in ("contains", "includes") and self.tok.is_op("("):
            return self._call(t)  # contains(haystack, needle) is also a function
        if low in KEYWORDS:
            raise self.error(f"Expected a value or a field but found the keyword `{word}`.", tok=t)
        if self.tok.is_op("("):
            if low == "cast":
                return self._cast(t)
            return self._call(t)
        return A.Ident([word], span=t.span)

    def _interval(self, t: Token) -> A.Interval:
        v = self.tok
        if v.kind == STRING:
            self.advance()
            parts = str(v.value).split()
            if len(parts) == 2 and parts[0].lstrip("-").isdigit() and parts[1].lower() in INTERVAL_UNITS:
                return self._make_interval(int(parts[0]), parts[1], t, v)
            raise self.error("Write an interval like interval 7 day or interval '7 days'.", tok=v, code="bad_interval")
        neg = False
        if self.tok.is_op("-"):
            self.advance()
            neg = True
        v = self.tok
        if v.kind != NUMBER or not isinstance(v.value, int):
            raise self.error("Expected a whole number after INTERVAL.", tok=v, code="bad_interval")
        self.advance()
        unit = self.tok
        if unit.kind != IDENT or str(unit.value).lower() not in INTERVAL_UNITS:
            raise self.error(
                f"Expected a time unit after INTERVAL {v.text} but found {describe(unit)}.", tok=unit, code="bad_interval",
                hint="Units: year, month, week, day, hour, minute, second, millisecond, microsecond.",
            )
        self.advance()
        return self._make_interval(-int(v.value) if neg else int(v.value), str(unit.value), t, unit)

    def _make_interval(self, value: int, unit: str, start: Token, end: Token) -> A.Interval:
        norm = INTERVAL_UNITS[unit.lower()]
        if norm == "week":  # ParsedQuery has no week unit
            value, norm = value * 7, "day"
        return A.Interval(value, norm, span=start.span.to(end.span))

    def _cast(self, t: Token) -> A.Function:
        self.advance()
        inner = self.expr()
        self.expect_kw("as")
        ty = self.tok
        if ty.kind != IDENT or str(ty.value).lower() not in CAST_TYPES:
            close = difflib.get_close_matches(str(ty.value).lower(), list(CAST_TYPES), n=1)
            raise self.error(
                f"Unknown type {describe(ty)} in CAST.", tok=ty, code="unknown_type",
                hint=f"Did you mean `{close[0]}`?" if close else "Types: string, number, integer, boolean, datetime, date.",
            )
        self.advance()
        self.expect_op(")", "to close CAST")
        return A.Function(CAST_TYPES[str(ty.value).lower()], [inner], span=self.span_from(t.span))

    def _call(self, t: Token) -> A.Expr:
        self.advance()  # (
        name = str(t.value)
        distinct = False
        if self.tok.is_kw("distinct"):
            self.advance()
            distinct = True
        args: list[A.Expr | A.AliasExpr] = []
        while not self.tok.is_op(")"):
            if self.tok.kind == IDENT and self.peek().is_op("=>"):
                key = self.advance()
                self.advance()
                value = self.expr()
                args.append(A.AliasExpr(value, str(key.value), span=key.span.to(value.span)))
            else:
                args.append(self.expr())
            if not self.tok.is_op(","):
                break
            self.advance()
        self.expect_op(")", f"to close the call to {name}")
        span = self.span_from(t.span)
        low = name.lower()
        if low in ("any_span", "filter_spans"):
            if len(args) != 1 or isinstance(args[0], A.AliasExpr):
                raise BtqlError.at("parse", "wrong_arity", f"{name.upper()} takes exactly one condition.", span)
            return A.SpanFilter("any" if low == "any_span" else "filter", args[0], span=span)
        return A.Function(name, args, distinct, span=span)
