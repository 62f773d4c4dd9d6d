"""Logs page: traces and spans of the project's production logs, filtered with BTQL, paged by cursor.

Every query runs in a thread worker through `loop_tui.btql.run`; results come back as messages.
A page holds `PAGE_SIZE` rows; `n`/`p` walk pages with the cursor BTQL returns, so a million spans
never leave DuckDB. Enter opens the trace; `a` turns the row into a dataset row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Label

from loop_tui.errors import UserError
from loop_tui.safe_text import literal
from loop_tui.ui.focus import focus_now
from loop_tui.ui.formatting import parse_json_text
from loop_tui.ui.logs_query import (
    PAGE_SIZE,
    SORTS,
    TIME_RANGES,
    VIEWS,
    LogsQuery,
    display_table,
)
from loop_tui.ui.messages import WorkFailed
from loop_tui.ui.screens.base import PageScreen
from loop_tui.ui.widgets.arrow_table import ArrowTable
from loop_tui.ui.widgets.charts import TrendCharts
from loop_tui.ui.widgets.filter_bar import FilterBar
from loop_tui.ui.widgets.live_feed import LiveFeed
from loop_tui.ui.widgets.modals import ChoiceModal, if_chosen


def _cycle(options: list[str], current: str) -> str:
    return options[(options.index(current) + 1) % len(options)]


class LogsScreen(PageScreen):
    """The project's logs."""

    PAGE = "logs"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter", id="logs.filter"),
        Binding("escape", "focus_table", "Table", show=False, id="logs.table"),
        Binding("n", "next_page", "Next page", id="logs.next_page"),
        Binding("p", "prev_page", "Prev page", show=False, id="logs.prev_page"),
        Binding("t", "cycle_range", "Time range", id="logs.time_range"),
        Binding("v", "cycle_view", "View", id="logs.view"),
        Binding("s", "cycle_sort", "Sort", id="logs.sort"),
        Binding("c", "toggle_charts", "Charts", id="logs.charts"),
        Binding("a", "add_to_dataset", "Add to dataset", id="logs.add_to_dataset"),
        Binding("r", "refresh", "Refresh", show=False, id="logs.refresh"),
    ]

    @dataclass
    class PageLoaded(Message):
        """A page of rows is ready (built in a worker)."""

        query: LogsQuery
        page: int
        display: Any
        raw: Any
        cursor: str | None
        warnings: list[str]

    @dataclass
    class PageFailed(Message):
        """The page's query failed (a damaged file, a bad filter): the sentence replaces the rows."""

        query: LogsQuery
        sentence: str

    @dataclass
    class CountLoaded(Message):
        """How many rows match the current query."""

        query: LogsQuery
        count: int

    @dataclass
    class ChartsLoaded(Message):
        """Per-day series for the charts."""

        series: dict[str, list[float | None]]
        first: str
        last: str

    @dataclass
    class DatasetsListed(Message):
        """The project's datasets, to choose where a log row goes (`a`)."""

        row: dict[str, Any]
        datasets: list[Any]

    @dataclass
    class RowAdded(Message):
        """A log row was added to a dataset (by write `xact`)."""

        dataset_name: str
        xact: int

    def __init__(self) -> None:
        super().__init__()
        self.query_state = LogsQuery(source="project_logs()")
        self.cursors: list[str | None] = [None]  # cursors[i] fetches page i
        self.next_cursor: str | None = None
        self.total: int | None = None

    def compose_page(self) -> ComposeResult:
        yield FilterBar(
            self._check_filter,
            placeholder="/ filter (BTQL), e.g. error != null and metadata.model = 'gpt-4o'",
            id="logs-filter",
        )
        yield TrendCharts(id="logs-charts")
        yield ArrowTable(empty_text="Loading logs…", id="logs-table", classes="pane")
        yield Label("", id="logs-status", classes="status-line")
        yield LiveFeed(id="logs-live")

    def on_mount(self) -> None:
        super().on_mount()
        # On a small terminal the rows matter more than the charts (c brings them back).
        if self.app.size.height < 30:
            self.query_one(TrendCharts).display = False

    # ----- loading -------------------------------------------------------------------------------
    def load(self) -> None:
        """Start over on the current project's logs."""
        project = self.project
        if project is None:
            return
        self.query_state = self.query_state.with_(source=f"project_logs('{project.id}')")
        self._reload()

    def _reload(self) -> None:
        self.cursors = [None]
        self.total = None
        self._show_choices()
        # The page query goes first on its own: the count and the charts (full scans on big
        # workspaces) start once the rows are on screen, so they never delay the first page.
        if not self._show_prefetched(self.query_state):
            self._fetch_page(self.query_state, 0, None)

    def _show_prefetched(self, query: LogsQuery) -> bool:
        """Show the first page the app read while it opened, if it is already there: without a worker's
        round trip, the page's first frame has its rows instead of "Loading logs…" (False: read it)."""
        prefetched = getattr(self.app, "first_logs_page", None)
        if prefetched is None or not prefetched.done():
            return False
        result = prefetched.take(query.btql(PAGE_SIZE), self.workspace)
        if result is None:
            return False
        self.post_message(self.PageLoaded(query, 0, display_table(result.table), result.table, result.cursor,
                                          result.warnings))
        return True

    def _show_choices(self) -> None:
        q = self.query_state
        self.query_one("#logs-table", ArrowTable).border_subtitle = (
            f"t {TIME_RANGES[q.time_range][0]} · v {VIEWS[q.view]} · s {SORTS[q.sort][0]}"
        )

    @work(thread=True, exclusive=True, group="logs-page", exit_on_error=False)
    def _fetch_page(self, query: LogsQuery, page: int, cursor: str | None) -> None:
        from loop_tui.btql import BtqlError, run

        text = query.btql(PAGE_SIZE)
        prefetched = getattr(self.app, "first_logs_page", None)  # started while the app was opening
        result = prefetched.take(text, self.workspace) if prefetched is not None and cursor is None else None
        try:
            result = result or run(text, self.workspace, cursor=cursor)
        except BtqlError as err:
            self.loop_app.first_page_drawn()  # the error is what the page shows first
            self.post_message(self.PageFailed(query, str(err)))
            return
        display = display_table(result.table)
        self.post_message(self.PageLoaded(query, page, display, result.table, result.cursor, result.warnings))

    @work(thread=True, exclusive=True, group="logs-count", exit_on_error=False)
    def _fetch_count(self, query: LogsQuery) -> None:
        from loop_tui.btql import BtqlError, run

        try:
            table = run(query.count_btql(), self.workspace).table
        except BtqlError:
            return  # the page query reports the error; the count just stays unknown
        count = table.column("n")[0].as_py() if table.num_rows else 0
        self.post_message(self.CountLoaded(query, int(count or 0)))

    @work(thread=True, exclusive=True, group="logs-charts", exit_on_error=False)
    def _fetch_charts(self, query: LogsQuery) -> None:
        from loop_tui.btql import BtqlError, run

        try:
            rows = run(query.chart_btql(), self.workspace).table.to_pylist()
        except BtqlError as err:
            self.post_message(WorkFailed("logs charts", str(err)))
            return
        series = chart_series(rows)
        first = rows[0]["day"].strftime("%b %d") if rows else ""
        last = rows[-1]["day"].strftime("%b %d") if rows else ""
        self.post_message(self.ChartsLoaded(series, first, last))

    @on(PageLoaded)
    async def _show_page(self, message: PageLoaded) -> None:
        if message.query != self.query_state:
            return
        self.next_cursor = message.cursor
        table = self.query_one("#logs-table", ArrowTable)
        await table.show(
            message.display,
            message.raw,
            focus=not self.query_one(FilterBar).input.has_focus,
            empty_text="No logs match. Widen the time range (t) or change the filter (/).",
        )
        _restore_cursor(table, getattr(self, "_live_keep_row", None))
        self._live_keep_row = None
        self._page = message.page
        self._show_status()
        if message.page == 0 and self.total is None:
            # The count and the charts (full scans) start once these rows are on the screen: started with
            # them, their query planning held the UI thread from drawing them (~70 ms at start-up).
            self.call_after_refresh(self._rows_drawn, message.query)

    def _rows_drawn(self, query: LogsQuery) -> None:
        """The first page's rows are on the screen: count the matches and plot the charts."""
        self.loop_app.first_page_drawn()
        if query != self.query_state:
            return
        self._fetch_count(query)
        if self.query_one(TrendCharts).display:
            self._fetch_charts(query)

    @on(PageFailed)
    async def _show_failure(self, message: PageFailed) -> None:
        # In place of the rows, not only as a toast: a page left saying "Loading logs…" looked like it hung.
        if message.query != self.query_state:
            return
        await self.query_one("#logs-table", ArrowTable).show_message(message.sentence)
        self.query_one("#logs-status", Label).update("the query failed · / changes the filter · r reloads")
        self.notify(message.sentence, title="logs", severity="error", timeout=8)

    @on(LiveFeed.Arrived)
    def _refresh_live(self, message: LiveFeed.Arrived) -> None:
        """The receiver stored spans: re-read the first page in place (filter, view and cursor row kept)."""
        if getattr(self, "_page", 0) != 0 or self.project is None:
            return  # a later page stays still; n/p or r show the new rows
        row = self.query_one("#logs-table", ArrowTable).raw_row()
        self._live_keep_row = row.get("id") if row else None
        self.total = None
        self._fetch_page(self.query_state, 0, None)

    @on(CountLoaded)
    def _show_count(self, message: CountLoaded) -> None:
        if message.query == self.query_state:
            self.total = message.count
            self._show_status()

    @on(ChartsLoaded)
    def _show_charts(self, message: ChartsLoaded) -> None:
        self.query_one(TrendCharts).plot(message.series, message.first, message.last)

    def _show_status(self) -> None:
        table = self.query_one("#logs-table", ArrowTable)
        page = getattr(self, "_page", 0)
        start = page * PAGE_SIZE + 1 if table.row_count else 0
        end = page * PAGE_SIZE + table.row_count
        total = "…" if self.total is None else f"{self.total:,}"
        more = "n next" if self.next_cursor else "last page"
        back = " · p previous" if page > 0 else ""
        self.query_one("#logs-status", Label).update(
            f"rows {start:,}–{end:,} of {total} · page {page + 1} · {more}{back} · enter opens trace · a add to dataset"
        )
        table.border_title = literal(f"{VIEWS[self.query_state.view]} · {self.query_state.filter or 'no filter'}")

    def show_empty(self, message: str) -> None:
        self.call_later(self.query_one("#logs-table", ArrowTable).show_message, message)

    def loop_context(self) -> dict[str, object]:
        """Loop sees the highlighted row and, when the user narrowed the logs, the page's query."""
        row = self.query_one("#logs-table", ArrowTable).raw_row()
        q = self.query_state
        narrowed = bool(q.filter.strip()) or q.time_range != "all"
        return {
            "selected_row_ids": [row["id"]] if row else [],
            # PageContext has no filter field: the query the page runs carries the filter and time range.
            "btql_query": q.btql(PAGE_SIZE) if narrowed else None,
        }

    # ----- filter --------------------------------------------------------------------------------
    def _check_filter(self, text: str) -> tuple[list[Any], int]:
        from loop_tui.btql import check

        query = self.query_state.filter_check_btql(text)
        return check(query, self.workspace), query.index("filter: ") + len("filter: ")

    @on(FilterBar.Applied)
    def _apply_filter(self, message: FilterBar.Applied) -> None:
        self.query_state = self.query_state.with_(filter=message.text)
        self._reload()

    # ----- actions -------------------------------------------------------------------------------
    def action_focus_filter(self) -> None:
        """Type a BTQL filter expression."""
        focus_now(self.query_one(FilterBar).input)

    def action_focus_table(self) -> None:
        """Back to the rows."""
        self.query_one("#logs-table", ArrowTable).focus_grid()

    def action_next_page(self) -> None:
        """The next page of rows (by cursor)."""
        if self.next_cursor is None:
            self.notify("this is the last page")
            return
        page = getattr(self, "_page", 0) + 1
        del self.cursors[page:]
        self.cursors.append(self.next_cursor)
        self._fetch_page(self.query_state, page, self.next_cursor)

    def action_prev_page(self) -> None:
        """The previous page."""
        page = getattr(self, "_page", 0)
        if page == 0:
            return
        self._fetch_page(self.query_state, page - 1, self.cursors[page - 1])

    def action_cycle_range(self) -> None:
        """Last hour → 24 h → 7 days → 30 days → all time."""
        self.query_state = self.query_state.with_(time_range=_cycle(list(TIME_RANGES), self.query_state.time_range))
        self._reload()

    def action_cycle_view(self) -> None:
        """Root spans → trace summaries → all spans."""
        self.query_state = self.query_state.with_(view=_cycle(list(VIEWS), self.query_state.view))
        self._reload()

    def action_cycle_sort(self) -> None:
        """Newest → oldest → slowest → most tokens → most expensive."""
        self.query_state = self.query_state.with_(sort=_cycle(list(SORTS), self.query_state.sort))
        self._reload()

    def action_toggle_charts(self) -> None:
        """Show or hide the per-day charts."""
        charts = self.query_one(TrendCharts)
        charts.display = not charts.display
        if charts.display:
            self._fetch_charts(self.query_state)

    def action_refresh(self) -> None:
        """Run the query again."""
        self._reload()

    @on(ArrowTable.RowChosen, "#logs-table")
    def _open_trace(self, message: ArrowTable.RowChosen) -> None:
        row = message.table.raw_row(message.index)
        if row is None or self.project is None:
            return
        from loop_tui.ui.screens.trace import TraceScreen

        self.app.push_screen(TraceScreen(f"project_logs('{self.project.id}')", row["root_span_id"], row.get("id")))

    def action_add_to_dataset(self) -> None:
        """Copy the row's input (and output as expected) into a dataset."""
        row = self.query_one("#logs-table", ArrowTable).raw_row()
        if row is None or self.project is None:
            self.notify("select a log row first", severity="warning")
            return
        self._list_datasets(row, self.project.id)

    @work(thread=True, exclusive=True, group="logs-datasets", exit_on_error=False)
    def _list_datasets(self, row: dict[str, Any], project_id: str) -> None:
        self.post_message(self.DatasetsListed(row, self.workspace.objects("dataset", project_id)))

    @on(DatasetsListed)
    def _choose_dataset(self, message: DatasetsListed) -> None:
        row = message.row
        self.app.push_screen(
            ChoiceModal(
                "Add this row to which dataset?", [(d.name, d) for d in message.datasets], "This project has no datasets yet."
            ),
            if_chosen(lambda chosen: self._insert_dataset_row(chosen, row)),
        )

    @work(thread=True, exclusive=False, group="logs-insert", exit_on_error=False)
    def _insert_dataset_row(self, dataset: Any, row: dict[str, Any]) -> None:
        metadata = parse_json_text(row.get("metadata"))
        record = {
            "input": parse_json_text(row.get("input")),
            "expected": parse_json_text(row.get("output")),
            "metadata": {**(metadata if isinstance(metadata, dict) else {}), "source_span_id": row.get("span_id")},
            "tags": ["from-logs"],
        }
        try:
            xact = self.workspace.insert_rows(
                "dataset", dataset.id, [record], project_id=dataset.project_id, description="row from logs"
            )
        except UserError as exc:  # anything else is a bug: WorkerFailures logs it
            self.post_message(WorkFailed("add to dataset", str(exc)))
            return
        self.post_message(self.RowAdded(dataset.name, xact))

    @on(RowAdded)
    def _row_added(self, message: RowAdded) -> None:
        self.notify(f"added to dataset {message.dataset_name} (write {message.xact}; undo it on the Datasets page with u)")


PAGE_SCREEN = LogsScreen
def _pushed() -> tuple[type, ...]:
    from loop_tui.ui.screens.trace import TraceScreen

    return (TraceScreen,)


PUSHED_SCREENS = _pushed()


def _restore_cursor(table: ArrowTable, row_id: str | None) -> None:
    """Put the cursor back on the row it was on before a live refresh (rows above it may be new)."""
    grid = table.grid
    if row_id is None or grid is None or table.raw is None or "id" not in table.raw.column_names:
        return
    ids = table.raw.column("id").to_pylist()
    if row_id in ids:
        grid.move_cursor(row=ids.index(row_id), animate=False)


def chart_series(rows: list[dict[str, Any]]) -> dict[str, list[float | None]]:
    """The charts' series from the per-day rows of `LogsQuery.chart_btql`, one value a calendar day from the
    first to the last: a day without spans counts no requests, errors or tokens, and has no mean latency (a gap
    in that chart, not 0.0 s); days the query has no row for are there too, so a quiet week is not squeezed out."""
    from datetime import timedelta

    by_day = {row["day"]: row for row in rows}
    series: dict[str, list[float | None]] = {k: [] for k in ("requests", "errors", "latency", "tokens")}
    if not rows:
        return series
    day, last = rows[0]["day"], rows[-1]["day"]
    while day <= last:
        row = by_day.get(day, {})
        for key in ("requests", "errors", "tokens"):
            series[key].append(float(row.get(key) or 0))
        latency = row.get("latency")
        series["latency"].append(None if latency is None else float(latency))
        day += timedelta(days=1)
    return series
