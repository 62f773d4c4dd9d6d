"""`TrendCharts`: per-day charts (requests, errors, latency, tokens) drawn with Sparklines and a scale.

textual-plotext would draw axes, but it is one more dependency for four trend lines; a three-row
Sparkline with its scale (highest and lowest day) on the left and the first and last day under it
answers "is it going up, and from what to what?" at a glance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline

Formatter = Callable[[float], str]


class TrendChart(Vertical):
    """One titled sparkline with its y scale (max at the top, min at the bottom) and its first and last day."""

    def __init__(self, title: str, fmt: Formatter, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes="trend-chart")
        self.title = title
        self.fmt = fmt

    def compose(self) -> ComposeResult:
        yield Label(self.title, classes="trend-title")
        with Horizontal(classes="trend-plot"):
            with Vertical(classes="trend-axis"):
                yield Label("", classes="trend-max")
                yield Label("", classes="trend-mid")
                yield Label("", classes="trend-min")
            yield Sparkline([], summary_function=max)
        with Horizontal(classes="trend-x"):
            yield Label("", classes="trend-first")
            yield Label("", classes="trend-last")

    def plot(self, values: Sequence[float | None], first_label: str = "", last_label: str = "") -> None:
        """Show `values` (None counts as 0), labelled with the first and last bucket."""
        data = [float(v or 0) for v in values]
        self.query_one(Sparkline).data = data
        title = self.query_one(".trend-title", Label)
        if not data:
            title.update(f"{self.title} · no data")
            for name in ("max", "mid", "min"):
                self.query_one(f".trend-{name}", Label).update("")
            return
        title.update(self.title)
        # Sparkline scales its bars from the lowest to the highest value: the axis says which those are.
        self.query_one(".trend-max", Label).update(self.fmt(max(data)))
        self.query_one(".trend-min", Label).update(self.fmt(min(data)))
        self.query_one(".trend-first", Label).update(first_label)
        self.query_one(".trend-last", Label).update(last_label)


class TrendCharts(Horizontal):
    """Requests, errors, latency and tokens per day."""

    def compose(self) -> ComposeResult:
        yield TrendChart("requests/day", lambda v: f"{v:,.0f}", id="chart-requests")
        yield TrendChart("errors/day", lambda v: f"{v:,.0f}", id="chart-errors")
        yield TrendChart("mean latency", lambda v: f"{v:.1f}s", id="chart-latency")
        yield TrendChart("tokens/day", lambda v: f"{v / 1000:,.0f}k" if v >= 1000 else f"{v:,.0f}", id="chart-tokens")

    def plot(self, series: dict[str, list[float | None]], first: str, last: str) -> None:
        """Plot the four series (keys: requests, errors, latency, tokens)."""
        for name in ("requests", "errors", "latency", "tokens"):
            self.query_one(f"#chart-{name}", TrendChart).plot(series.get(name, []), first, last)
