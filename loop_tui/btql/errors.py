"""`BtqlError`: the one error value every BTQL stage returns (parse, bind or runtime).

It carries a 1-based source span so the sandbox can underline the offending text, and an optional hint
("did you mean `metadata.model`?"). It subclasses `UserError` so the CLI and the agent treat it as bad input.
"""

from __future__ import annotations

from typing import Any

from loop_tui.errors import UserError

KINDS = ("parse", "bind", "runtime")


class BtqlError(UserError):
    """A parse, bind or runtime error of a BTQL query, with its place in the text and a hint."""

    def __init__(
        self,
        kind: str,
        code: str,
        message: str,
        line: int = 1,
        col: int = 1,
        end_line: int | None = None,
        end_col: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.kind = kind
        self.code = code
        self.line = line
        self.col = col
        self.end_line = end_line if end_line is not None else line
        self.end_col = end_col if end_col is not None else col + 1

    @classmethod
    def at(cls, kind: str, code: str, message: str, span: Any, hint: str | None = None) -> BtqlError:
        """Build an error located at `span` (a `Span` or None for the whole query)."""
        if span is None:
            return cls(kind, code, message, 1, 1, None, None, hint)
        return cls(kind, code, message, span.line, span.col, span.end_line, span.end_col, hint)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by `loop-tui btql --format json` and the agent's tools."""
        return {
            "kind": self.kind,
            "code": self.code,
            "message": self.message,
            "line": self.line,
            "col": self.col,
            "end_line": self.end_line,
            "end_col": self.end_col,
            "hint": self.hint,
        }

    def __repr__(self) -> str:
        return f"BtqlError({self.kind}/{self.code} at {self.line}:{self.col}: {self.message})"

    def render(self, query: str) -> str:
        """The message with the offending line and a caret underline, for terminals."""
        lines = query.splitlines() or [""]
        idx = min(max(self.line, 1), len(lines)) - 1
        text = lines[idx]
        start = max(self.col, 1)
        end = self.end_col if self.end_line == self.line else len(text) + 1
        width = max(end - start, 1)
        out = [f"{self.kind} error ({self.code}) at line {self.line}, column {self.col}: {self.message}"]
        out.append(f"  {text}")
        out.append("  " + " " * (start - 1) + "^" * width)
        if self.hint:
            out.append(f"hint: {self.hint}")
        return "\n".join(out)
