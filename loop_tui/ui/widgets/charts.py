"""`TrendCharts`: per-day charts (requests, errors, latency, tokens): a sparkline with its scale and days.

textual-plotext would draw axes, but it is one more dependency for four trend lines; a three-row
sparkline with its scale (highest and lowest day) on the left and the first and last day under it
answers "is it going up, and from what to what?" at a glance.

Each chart is one widget that draws its title, scale, sparkline and days itself: composed of labels and
containers, the four charts were 44 of the logs page's ~90 widgets, each one styled, laid out and
painted before the page's first rows (charts are there, empty, from the page's first frame).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import ClassVar

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.renderables.sparkline import Sparkline
from textual.widget import Widget

Formatter = Callable[[float], str]

PLOT_HEIGHT = 3
"""Rows of the sparkline (and of the scale beside it)."""


class _ChartDrawing:
    """A chart's lines: title; the scale (max, blank, min) left of the sparkline; first and last day."""

    def __init__(self, chart: TrendChart) -> None:
        self.title = chart.title
        self.no_data = chart.no_data
        self.scale = chart.scale
        self.days = chart.days
        self.data = chart.data
        self.styles = {name: chart.get_component_rich_style(f"trend-chart--{name}")
                       for name in ("title", "scale", "days")}
        # The bars' colours, over the chart's background (as Textual's Sparkline widget blends them).
        _, base = chart.background_colors
        self.min_color = (base + chart.get_component_styles("trend-chart--min-color").color).rich_color
        self.max_color = (base + chart.get_component_styles("trend-chart--max-color").color).rich_color

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        yield from self._line(Text(self.title, self.styles["title"], no_wrap=True, end=""), width)
        if self.no_data:
            # Said where the bars go: in the title it was cut ("requests/day · no da"), and an empty
            # sparkline's flat line reads as zero every day.
            for line in range(PLOT_HEIGHT + 1):
                said = "no data" if line == PLOT_HEIGHT // 2 else ""
                yield from self._line(Text(said.center(width), self.styles["days"], no_wrap=True, end=""), width)
            return
        scale_width = max(len(label) for label in self.scale) + 1  # (one column between scale and bars)
        plot_width = max(1, width - scale_width)
        # A bucket without a value is drawn at the lowest value (which changes neither the Sparkline's scale nor
        # its buckets), then blanked where a whole column has no value.
        present = [v for v in self.data if v is not None]
        lowest = min(present, default=0.0)
        bars = Sparkline([lowest if v is None else v for v in self.data], width=plot_width, height=PLOT_HEIGHT,
                         min_color=self.min_color, max_color=self.max_color, summary_function=max)
        rows = console.render_lines(bars, options.update(width=plot_width, height=PLOT_HEIGHT), pad=True)
        if len(present) < len(self.data):
            gaps = _empty_columns([v is None for v in self.data], plot_width)
            rows = [_blanked(row, gaps) for row in rows]
        for label, row in zip(self.scale, rows, strict=True):
            scale = Text(label, self.styles["scale"], no_wrap=True, end="")
            scale.truncate(min(scale_width, width), pad=True)
            yield scale
            yield from row
            yield Segment.line()
        first, last = self.days
        if last == first:  # one day: named once, not as a span from that day to itself
            last = ""
        # A day cut short reads as another day ("Nov 05 D"): the last goes first, then the first.
        if cell_len(first) + 1 + cell_len(last) > width:
            last = ""
        if cell_len(first) > width:
            first = ""
        gap = max(1, width - len(first) - len(last)) if last else width - len(first)
        days = Text(first, self.styles["days"], no_wrap=True, end="")
        days.append(" " * gap + last, self.styles["days"])
        yield from self._line(days, width)

    def _line(self, text: Text, width: int) -> RenderResult:
        text.truncate(width, pad=True)
        yield text
        yield Segment.line()


def _empty_columns(missing: list[bool], width: int) -> list[int]:
    """The columns of a Sparkline of `width` over len(`missing`) values whose values are all missing: its own
    arithmetic (buckets of Fraction(len, width) values, the empty ones dropped; columns step through the
    buckets by len(buckets) / width), so that a gap is blanked exactly where its bar would be."""
    step = Fraction(len(missing), width)
    buckets = [part for part in (missing[int(step * n):int(step * (n + 1))] for n in range(width)) if part]
    empty, index, column_step = [], 0.0, len(buckets) / width
    for column in range(width):
        if all(buckets[int(index)]):
            empty.append(column)
        index += column_step
    return empty


def _blanked(row: list[Segment], columns: list[int]) -> list[Segment]:
    """A rendered line with the cells at `columns` made blank (a day without a value: no bar, not a low one)."""
    cells = list(Segment.divide(row, range(1, sum(segment.cell_length for segment in row) + 1)))
    for column in columns:
        if column < len(cells):
            cells[column] = [Segment(" ")]
    return [segment for cell in cells for segment in cell]


class TrendChart(Widget):
    """One titled sparkline with its y scale (max at the top, min at the bottom) and its first and last day."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "trend-chart--title", "trend-chart--scale", "trend-chart--days",
        "trend-chart--min-color", "trend-chart--max-color",
    }
    """Styled in styles/logs.tcss: the title, the scale and the days are the `trend-chart--*` parts, the bars
    go from `trend-chart--min-color` (lowest) to `trend-chart--max-color` (highest)."""

    def __init__(self, title: str, fmt: Formatter, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes="trend-chart")
        self.title = title
        self.fmt = fmt
        self.no_data = False
        """The last plot had no values: "no data" shows where the bars go (not while the first is on its way)."""
        self.data: list[float | None] = []
        """The plotted values, one per bucket (day); None for a bucket without one."""
        self.scale: tuple[str, ...] = ("",) * PLOT_HEIGHT
        """The scale's rows beside the bars: the highest value at the top, the lowest at the bottom."""
        self.days: tuple[str, str] = ("", "")
        """The first and the last bucket's labels, under the bars."""

    def render(self) -> _ChartDrawing:
        return _ChartDrawing(self)

    def plot(self, values: Sequence[float | None], first_label: str = "", last_label: str = "") -> None:
        """Show `values`, one a bucket (day), labelled with the first and last bucket. None is a bucket without
        a value (a day without requests has no mean latency): a gap, not a zero."""
        self.data = [None if v is None else float(v) for v in values]
        present = [v for v in self.data if v is not None]
        self.no_data = not present
        if not present:
            self.scale = ("",) * PLOT_HEIGHT
            self.days = ("", "")  # (the days of the plot before would read as this one's)
        else:
            # The sparkline scales its bars from the lowest to the highest value: the scale says which those are.
            self.scale = (self.fmt(max(present)), "", self.fmt(min(present)))
            self.days = (first_label, last_label)
        self.refresh()


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
