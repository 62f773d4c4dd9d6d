"""`TrendCharts`: small per-day charts (requests, errors, latency, tokens) drawn with Sparklines.

textual-plotext would draw axes, but it is one more dependency for four trend lines; a Sparkline with
its range and last value printed beside it answers "is it going up?" at a glance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline

Formatter = Callable[[float], str]


class TrendChart(Vertical):
    """One titled sparkline with min, max and the latest value."""

    def __init__(self, title: str, fmt: Formatter, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes="trend-chart")
        self.title = title
        self.fmt = fmt

    def compose(self) -> ComposeResult:
        yield Label(self.title, classes="trend-title")
        yield Sparkline([], summary_function=max)
        yield Label("", classes="trend-range")

    def plot(self, values: Sequence[float | None], first_label: str = "", last_label: str = "") -> None:
        """Show `values` (None counts as 0), labelled with the first and last bucket."""
        data = [float(v or 0) for v in values]
        self.query_one(Sparkline).data = data
        if not data:
            self.query_one(".trend-range", Label).update("no data")
            return
        self.query_one(".trend-range", Label).update(
            f"{first_label}→{last_label} max {self.fmt(max(data))} last {self.fmt(data[-1])}"
        )


class TrendCharts(Horizontal):
    """Requests, errors, latency and tokens per day."""

    def compose(self) -> ComposeResult:
        yield TrendChart("requests / day", lambda v: f"{v:,.0f}", id="chart-requests")
        yield TrendChart("errors / day", lambda v: f"{v:,.0f}", id="chart-errors")
        yield TrendChart("mean latency", lambda v: f"{v:.1f}s", id="chart-latency")
        yield TrendChart("tokens / day", lambda v: f"{v / 1000:,.0f}k" if v >= 1000 else f"{v:,.0f}", id="chart-tokens")

    def plot(self, series: dict[str, list[float | None]], first: str, last: str) -> None:
        """Plot the four series (keys: requests, errors, latency, tokens)."""
        for name in ("requests", "errors", "latency", "tokens"):
            self.query_one(f"#chart-{name}", TrendChart).plot(series.get(name, []), first, last)
