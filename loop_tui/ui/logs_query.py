"""The logs page's query: what the user chose (filter, time range, view, sort) as BTQL text, and how a
result page becomes the display table. Plain Python, no Textual.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from loop_tui.ui.formatting import (
    as_mapping,
    fmt_cost,
    fmt_duration,
    fmt_number,
    fmt_scores,
    fmt_time,
    parse_json_text,
    preview,
)

if TYPE_CHECKING:
    import pyarrow as pa

PAGE_SIZE = 200

# (label, BTQL condition on created); "all" scans everything.
TIME_RANGES: dict[str, tuple[str, str | None]] = {
    "1h": ("last hour", "created > now() - interval 1 hour"),
    "24h": ("last 24 hours", "created > now() - interval 1 day"),
    "7d": ("last 7 days", "created > now() - interval 7 day"),
    "30d": ("last 30 days", "created > now() - interval 30 day"),
    "all": ("all time", None),
}

# View: which rows. "traces" = root spans (one per request, fast); "summary" = one row per trace with
# metrics summed over its spans; "spans" = every span.
VIEWS = {"traces": "root spans", "summary": "trace summaries", "spans": "all spans"}

SORTS: dict[str, tuple[str, str]] = {
    "newest": ("newest first", "created desc"),
    "oldest": ("oldest first", "created asc"),
    "slowest": ("slowest first", "metrics.end - metrics.start desc"),
    "tokens": ("most tokens first", "metrics.tokens desc"),
    "cost": ("most expensive first", "metrics.estimated_cost desc"),
}

DISPLAY_COLUMNS = ["time", "name", "input", "output", "error", "scores", "duration", "tokens", "cost", "model"]


@dataclass(frozen=True)
class LogsQuery:
    """The user's choices on the logs page."""

    source: str  # e.g. "project_logs('<project id>')"
    filter: str = ""
    time_range: str = "all"
    view: str = "traces"
    sort: str = "newest"

    def with_(self, **changes: Any) -> LogsQuery:
        """A copy with some choices changed."""
        return replace(self, **changes)

    def conditions(self) -> list[str]:
        """The filter's conjuncts (time range, root-only, the user's expression)."""
        parts = []
        range_condition = TIME_RANGES[self.time_range][1]
        if range_condition:
            parts.append(range_condition)
        if self.view == "traces":
            parts.append("is_root")
        if self.filter.strip():
            parts.append(f"({self.filter.strip()})")
        return parts

    def btql(self, limit: int = PAGE_SIZE) -> str:
        """The page query in BTQL pipe syntax."""
        shape = " summary" if self.view == "summary" else ""
        clauses = ["select: *", f"from: {self.source}{shape}"]
        conditions = self.conditions()
        if conditions:
            clauses.append("filter: " + " and ".join(conditions))
        clauses.append(f"sort: {SORTS[self.sort][1]}")
        clauses.append(f"limit: {limit}")
        return " | ".join(clauses)

    def count_btql(self) -> str:
        """How many rows match (for "rows 1–200 of N")."""
        shape = " summary" if self.view == "summary" else ""
        clauses = [f"from: {self.source}{shape}", "measures: count(1) as n"]
        conditions = self.conditions()
        if conditions:
            clauses.append("filter: " + " and ".join(conditions))
        return " | ".join(clauses)

    def filter_check_btql(self, text: str) -> str:
        """A query that binds the user's filter expression alone (for as-you-type validation). The filter is
        its last clause, so an unfinished expression ends where the query does (not at a `|` the user never
        typed)."""
        return f"select: id | from: {self.source} | limit: 1 | filter: {text}"

    def chart_btql(self) -> str:
        """Requests, errors, mean latency and tokens per day (the charts above the table)."""
        conditions = [c for c in self.conditions() if c != "is_root"]
        clauses = [
            f"from: {self.source}",
            "dimensions: day(created) as day",
            "measures: sum(is_root ? 1 : 0) as requests, sum(error != null ? 1 : 0) as errors, "
            "avg(is_root ? metrics.end - metrics.start : null) as latency, sum(metrics.tokens) as tokens",
        ]
        if conditions:
            clauses.append("filter: " + " and ".join(conditions))
        clauses.append("sort: day asc")
        return " | ".join(clauses)


def _span_name(row: dict[str, Any]) -> str:
    attrs = parse_json_text(row.get("span_attributes"))
    if isinstance(attrs, dict) and attrs.get("name"):
        return str(attrs["name"])
    return str(row.get("_span_name") or "")


def _model(row: dict[str, Any]) -> str:
    meta = parse_json_text(row.get("metadata"))
    return str(meta.get("model") or "") if isinstance(meta, dict) else ""


def display_table(table: pa.Table) -> pa.Table:
    """The page's rows as the table shows them: one string column per display column."""
    import pyarrow as pa

    return pa.table(display_rows(table), schema=pa.schema([(c, pa.string()) for c in DISPLAY_COLUMNS]))


def display_rows(table: pa.Table) -> dict[str, list[str]]:
    """The display columns for one page of span/summary rows."""
    out: dict[str, list[str]] = {name: [] for name in DISPLAY_COLUMNS}
    for row in table.to_pylist():
        metrics = as_mapping(row.get("metrics"))
        start, end = metrics.get("start"), metrics.get("end")
        duration = metrics.get("duration")
        if duration is None and start is not None and end is not None:
            duration = end - start
        tokens = metrics.get("tokens", metrics.get("total_tokens"))
        out["time"].append(fmt_time(row.get("created")))
        out["name"].append(_span_name(row))
        out["input"].append(preview(row.get("input"), 36))
        out["output"].append(preview(row.get("output"), 36))
        out["error"].append(preview(row.get("error"), 32))
        out["scores"].append(fmt_scores(row.get("scores"), 36))
        out["duration"].append(fmt_duration(duration))
        out["tokens"].append(fmt_number(tokens) if tokens else "")
        out["cost"].append(fmt_cost(metrics.get("estimated_cost")) if metrics.get("estimated_cost") else "")
        out["model"].append(_model(row))
    return out


class FirstPagePrefetch:
    """The logs page's first query, started by the app as soon as the workspace is open, in its own thread.

    DuckDB works without the GIL, so the query runs while the app imports and mounts the page instead of
    after: the page takes the result (`take`) when its own first fetch would have started it. The thread
    starts before the project is known (`for_project`): BTQL's import and its database connection (views
    over every segment) are made meanwhile, beside the store's own reading of the project list.
    """

    def __init__(self, workspace: Any) -> None:
        import threading

        self.text = ""
        self.generation = workspace.generation
        self._workspace = workspace
        self._result: Any = None
        self._taken = False
        self._chosen = threading.Event()
        self._thread = threading.Thread(target=self._run, name="logs-first-page", daemon=True)
        self._thread.start()

    def for_project(self, project_id: str | None) -> None:
        """Read the first page of this project's logs (None: there is no page to read; the thread ends)."""
        if project_id is not None:
            self.text = LogsQuery(source=f"project_logs('{project_id}')").btql(PAGE_SIZE)
        self._chosen.set()

    def _run(self) -> None:
        from loop_tui.btql import BtqlError, run
        from loop_tui.btql.executor import btql_connection

        try:
            btql_connection(self._workspace).close()  # made now, kept for the workspace's generation
        except Exception:  # noqa: BLE001 - only a head start: the query below makes it again and reports
            pass
        if not self._chosen.wait(PROJECT_WAIT_S) or not self.text:
            return
        try:
            self._result = run(self.text, self._workspace)
        except BtqlError:
            self._result = None  # the page runs the query itself and shows the error in place

    def wait(self) -> None:
        """Until the query is done (or there is none to run)."""
        self._thread.join()

    def done(self) -> bool:
        """Whether the query has finished (its result can be taken without waiting)."""
        return not self._thread.is_alive()

    def take(self, text: str, workspace: Any) -> Any:
        """The result for `text` if this is the query it ran on the same data, once; else None."""
        if self._taken or not self.text or text != self.text or workspace is not self._workspace:
            return None
        self._taken = True
        self._thread.join()
        return self._result if workspace.generation == self.generation else None


PROJECT_WAIT_S = 60.0
"""How long the prefetch thread waits to be told the project (the app tells it right after listing them)."""
