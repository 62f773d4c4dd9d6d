"""Tokens of both BTQL syntaxes, each with its 1-based line/column span.

Comments (`-- …` to end of line and `/* … */`) are skipped. Strings: `'…'` with `''` escapes (SQL style,
backslashes kept literally so LIKE escapes survive), `"…"` with JSON backslash escapes (the parser decides
whether a double-quoted token is a string or an identifier piece), and backtick identifiers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from loop_tui.btql.errors import BtqlError

IDENT, QIDENT, STRING, DQSTRING, NUMBER, OP, EOF = "ident", "qident", "string", "dqstring", "number", "op", "eof"

# Longest operators first so `<!=>` wins over `<`.
_OPERATORS = ("<!=>", "<=>", "<=", ">=", "!=", "<>", "=>", "->>", "->", "::", "||")
_SINGLE = "()[]{},.:?+-*/%=<>|;!"
_NUMBER_RE = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_IDENT_RE = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


@dataclass(frozen=True)
class Span:
    """A 1-based, end-exclusive source range."""

    line: int
    col: int
    end_line: int
    end_col: int

    def to(self, other: Span | None) -> Span:
        """The span covering self through `other`."""
        if other is None:
            return self
        return Span(self.line, self.col, other.end_line, other.end_col)


@dataclass(frozen=True)
class Token:
    """One token: `kind`, decoded `value`, raw `text`, span, and whether it starts its line."""

    kind: str
    value: object
    text: str
    span: Span
    first_on_line: bool
    offset: int

    def is_kw(self, *words: str) -> bool:
        """True if this is a bare identifier equal (case-insensitively) to one of `words`."""
        return self.kind == IDENT and str(self.value).lower() in words

    def is_op(self, *ops: str) -> bool:
        """True if this is one of the punctuation operators `ops`."""
        return self.kind == OP and self.value in ops


def _err(code: str, message: str, line: int, col: int, end_col: int | None = None, hint: str | None = None):
    return BtqlError("parse", code, message, line, col, line, end_col or col + 1, hint)


def tokenize(text: str) -> list[Token]:
    """Split `text` into tokens; raises `BtqlError(kind='parse')` on a bad character or unclosed string."""
    tokens: list[Token] = []
    i, line, line_start, n = 0, 1, 0, len(text)
    first_on_line = True

    def col_of(pos: int) -> int:
        return pos - line_start + 1

    while i < n:
        ch = text[i]
        if ch == "\n":
            i += 1
            line, line_start, first_on_line = line + 1, i, True
            continue
        if ch in " \t\r\f\v":
            i += 1
            continue
        if text.startswith("--", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise _err("unterminated_comment", "This /* comment is never closed.", line, col_of(i), col_of(i) + 2)
            for j in range(i, end):
                if text[j] == "\n":
                    line, line_start = line + 1, j + 1
            i = end + 2
            continue
        start, start_line, start_col = i, line, col_of(i)
        kind: str
        value: object
        if ch == "'" or ch == '"' or ch == "`":
            kind, value, i = _read_quoted(text, i, line, start_col)
        elif "0" <= ch <= "9" or (ch == "." and i + 1 < n and "0" <= text[i + 1] <= "9" and not _ends_path(tokens)):
            m = _NUMBER_RE.match(text, i)
            assert m is not None
            raw = m.group(0)
            i = m.end()
            if i < n and (text[i].isalpha() or text[i] == "_"):
                raise _err("bad_number", f"`{raw}{text[i]}` is not a number.", line, start_col, col_of(i) + 1)
            is_float = "." in raw or "e" in raw.lower()
            kind, value = NUMBER, float(raw) if is_float else int(raw)
        elif _IDENT_RE.match(text, i):
            m = _IDENT_RE.match(text, i)
            assert m is not None
            kind, value, i = IDENT, m.group(0), m.end()
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is None and ch in _SINGLE:
                op = ch
            if op is None:
                raise _err("unexpected_character", f"Unexpected character `{ch}`.", line, start_col)
            kind, value, i = OP, op, i + len(op)
        span = Span(start_line, start_col, line, col_of(i))
        tokens.append(Token(kind, value, text[start:i], span, first_on_line, start))
        first_on_line = False
    end_span = Span(line, col_of(i), line, col_of(i) + 1)
    tokens.append(Token(EOF, None, "", end_span, True, n))
    return tokens


def _ends_path(tokens: list[Token]) -> bool:
    """A `.` right after a name, `)` or `]` is path access, not the start of a number like `.5`."""
    if not tokens:
        return False
    last = tokens[-1]
    return last.kind in (IDENT, QIDENT, DQSTRING) or last.is_op(")", "]")


def _read_quoted(text: str, i: int, line: int, col: int) -> tuple[str, str, int]:
    quote = text[i]
    j = i + 1
    n = len(text)
    if quote == "'":
        parts: list[str] = []
        while True:
            k = text.find("'", j)
            if k < 0:
                raise _err("unterminated_string", "This string is never closed; add a closing `'`.", line, col)
            parts.append(text[j:k])
            if k + 1 < n and text[k + 1] == "'":
                parts.append("'")
                j = k + 2
                continue
            return STRING, "".join(parts), k + 1
    if quote == "`":
        k = text.find("`", j)
        if k < 0:
            raise _err("unterminated_identifier", "This `quoted name is never closed.", line, col)
        return QIDENT, text[j:k], k + 1
    # Double quotes: JSON-style escapes.
    while j < n:
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == '"':
            raw = text[i : j + 1]
            try:
                return DQSTRING, json.loads(raw), j + 1
            except ValueError:
                raise _err("bad_string", "This string has an invalid backslash escape.", line, col) from None
        if c == "\n":
            break
        j += 1
    raise _err("unterminated_string", 'This string is never closed; add a closing `"`.', line, col)
