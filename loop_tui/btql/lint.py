"""Lint warnings (research §7.2): a logs query with no time range reads every segment."""

from __future__ import annotations

from typing import Any

from loop_tui.btql import ast as A
from loop_tui.btql.compiler import split_conjuncts

RANGE_FIELDS = ("created", "_xact_id", "_pagination_key")
_RANGE_OPS = ("gt", "ge", "lt", "le")


def _narrows(term: Any) -> bool:
    if isinstance(term, A.SpanFilter):
        return any(_narrows(t) for t in split_conjuncts(term.expr))
    if isinstance(term, A.Comparison):
        names = [n.name for n in (term.left, term.right) if isinstance(n, A.Ident)]
        if term.op in _RANGE_OPS and any(len(n) == 1 and n[0] in RANGE_FIELDS for n in names):
            return True
        if term.op in ("eq", "in") and any(len(n) == 1 and n[0] in ("root_span_id", "id") for n in names):
            return True
    return False


def lint(q: A.Query, source_name: str) -> list[str]:
    """Warnings for a bound query; empty when nothing to say."""
    warnings = []
    if source_name == "project_logs":
        terms = split_conjuncts(q.filter) + split_conjuncts(q.span_filter)
        if not any(_narrows(t) for t in terms):
            warnings.append(
                "missingTimeRange: this project_logs query has no range filter on created or _xact_id, so it scans "
                "every log; add e.g. `created > now() - interval 7 day`."
            )
    return warnings
