"""Logs page flows: rows load, the BTQL filter is validated as you type, paging, trace view, charts,
add to dataset."""

from __future__ import annotations

from pathlib import Path

from textual.geometry import Region

from loop_tui.ui.widgets.arrow_table import ArrowTable
from loop_tui.ui.widgets.charts import TrendChart
from tests.test_loop_ui_support import wait_for
from tests.test_ui_support import make_app, screen_text, settle


async def _logs(pilot):  # type: ignore[no-untyped-def]
    await settle(pilot)
    return pilot.app.screen.query_one("#logs-table", ArrowTable)


async def test_logs_show_root_spans_newest_first_with_a_count(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path)
    async with app.run_test(size=(140, 40)) as pilot:
        table = await _logs(pilot)
        assert table.row_count == 200
        created = table.raw.column("created").to_pylist()
        assert created == sorted(created, reverse=True)
        assert all(table.raw.column("is_root").to_pylist())
        total = app.workspace.query(
            "SELECT count(*) AS n FROM project_logs WHERE is_root AND project_id = ?", [app.project.id]
        )[0]["n"]
        assert f"rows 1–200 of {total:,}" in screen_text(app)


async def test_invalid_filter_is_marked_as_you_type_and_not_applied(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await _logs(pilot)
        await pilot.press("slash")
        for key in "metadata.modl = 'x'":
            await pilot.press(key)
        error = app.screen.query_one("#logs-filter-error")
        await wait_for(pilot, lambda: not error.has_class("hidden"), timeout=30)  # the check is debounced
        await settle(pilot)
        assert "modl" in str(error.render()) or "metadata" in str(error.render())
        before = app.screen.query_one("#logs-table", ArrowTable).raw
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.query_one("#logs-table", ArrowTable).raw is before
        assert app.screen.query_state.filter == ""


async def test_an_unfinished_filter_says_where_it_ends_not_a_bar_the_user_did_not_type(sample_ws_path: Path) -> None:
    # Seen in tmux: `scores.Factuality < 0.3 and` said "found `|`": the check wrapped the filter in a query
    # with more clauses after it.
    app = make_app(sample_ws_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await _logs(pilot)
        await pilot.press("slash")
        app.screen.query_one("#logs-filter-input").value = "scores.Factuality < 0.3 and"
        error = app.screen.query_one("#logs-filter-error")
        await wait_for(pilot, lambda: not error.has_class("hidden"), timeout=30)  # the check is debounced
        said = str(error.render())
        assert "found the end of the filter" in said and "|" not in said, said


async def test_valid_filter_narrows_rows(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await _logs(pilot)
        await pilot.press("slash")
        for key in "error != null":
            await pilot.press(key)
        await pilot.press("enter")
        await settle(pilot)
        table = app.screen.query_one("#logs-table", ArrowTable)
        assert app.screen.query_state.filter == "error != null"
        assert 0 < table.row_count < 200
        assert all(e is not None for e in table.raw.column("error").to_pylist())
        assert app.screen.query_one("#logs-filter-error").has_class("hidden")


async def test_paging_walks_forward_and_back_by_cursor(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path)
    async with app.run_test(size=(140, 40)) as pilot:
        table = await _logs(pilot)
        first_page_ids = set(table.raw.column("id").to_pylist())
        await pilot.press("n")
        await settle(pilot)
        second = app.screen.query_one("#logs-table", ArrowTable)
        assert "page 2" in screen_text(app)
        assert not first_page_ids & set(second.raw.column("id").to_pylist())
        await pilot.press("p")
        await settle(pilot)
        assert set(app.screen.query_one("#logs-table", ArrowTable).raw.column("id").to_pylist()) == first_page_ids


async def test_sort_view_and_range_cycle(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await _logs(pilot)
        await pilot.press("s", "s")  # newest → oldest → slowest
        await settle(pilot)
        raw = app.screen.query_one("#logs-table", ArrowTable).raw
        durations = [dict(m)["end"] - dict(m)["start"] for m in raw.column("metrics").to_pylist()]
        assert durations == sorted(durations, reverse=True)
        await pilot.press("v", "v")  # root spans → summary → all spans
        await settle(pilot)
        raw = app.screen.query_one("#logs-table", ArrowTable).raw
        assert not all(raw.column("is_root").to_pylist())


async def test_enter_opens_the_trace_tree_and_span_detail(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await _logs(pilot)
        await pilot.press("s", "s")  # slowest first: a complete multi-span trace
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        from loop_tui.ui.screens.trace import TraceScreen

        assert isinstance(app.screen, TraceScreen)
        tree = app.screen.query_one("#trace-tree")
        assert tree.root.children and tree.cursor_node is not None
        spans = app.workspace.query(
            "SELECT count(*) AS n FROM project_logs WHERE root_span_id = ?", [app.screen.root_span_id]
        )[0]["n"]
        assert f"{spans} spans" in screen_text(app)
        await pilot.press("down")
        await pilot.pause()
        assert "input" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.PAGE == "logs" and not isinstance(app.screen, TraceScreen)


async def test_add_log_row_to_dataset(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path)
    async with app.run_test(size=(140, 40)) as pilot:
        table = await _logs(pilot)
        row = table.raw_row(0)
        dataset = app.workspace.objects("dataset", app.project.id)[0]
        before = app.workspace.read_rows("dataset", dataset.id).num_rows
        await pilot.press("a")
        await settle(pilot)
        assert "Add this row to which dataset?" in screen_text(app)
        names = [d.name for d in app.workspace.objects("dataset", app.project.id)]
        for _ in range(names.index(dataset.name)):
            await pilot.press("down")
        await pilot.press("enter")
        await settle(pilot)
        rows = app.workspace.read_rows("dataset", dataset.id)
        assert rows.num_rows == before + 1
        added = [r for r in rows.to_pylist() if "from-logs" in (r["tags"] or [])]
        assert added and row["span_id"] in added[-1]["metadata"]


async def test_charts_plot_one_point_per_day(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await _logs(pilot)
        data = app.screen.query_one("#chart-requests", TrendChart).data
        span = app.workspace.query(  # every calendar day from the first to the last, quiet ones too
            "SELECT date_diff('day', min(date_trunc('day', created)), max(date_trunc('day', created))) + 1 AS n "
            "FROM project_logs WHERE project_id = ?", [app.project.id],
        )[0]["n"]
        assert len(data) == span and sum(v or 0 for v in data) > 0


async def test_charts_have_a_scale_and_their_first_and_last_day(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await _logs(pilot)
        chart = app.screen.query_one("#chart-requests", TrendChart)
        data = chart.data
        assert chart.content_size.height >= 5  # title, three rows of bars (big enough to read a trend), days
        text = screen_text(app)
        first = app.workspace.query(
            "SELECT min(created) AS t FROM project_logs WHERE project_id = ?", [app.project.id]
        )[0]["t"].strftime("%b %d")
        assert f"{max(data):,.0f}" in text and f"{min(data):,.0f}" in text  # the scale: highest and lowest day
        assert first in text and "requests/day" in text


async def test_a_damaged_segment_is_said_in_place_of_the_rows(sample_ws_path: Path) -> None:
    # Seen: the logs page of a project with a truncated segment said "No logs match" (and, once that was an
    # error, "Loading logs…" stayed under a toast that went away): the page must say what is wrong, in place.
    from loop_tui.store import Workspace

    project = Workspace.open(sample_ws_path).project("support-bot")
    segment = sorted((sample_ws_path / "tables" / "project_logs" / project.id).glob("seg-*.parquet"))[0]
    segment.write_bytes(segment.read_bytes()[: segment.stat().st_size // 2])
    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "doctor --repair" in screen_text(app) and "query failed" in screen_text(app))
        await settle(pilot)
        shown = screen_text(app)
        assert "Loading logs" not in shown and "No logs match" not in shown
        assert segment.name in shown.replace("\n", "").replace("│", "").replace(" ", "") or "cannot be read" in shown


async def test_charts_of_a_filter_matching_nothing_show_no_days(sample_ws_path: Path) -> None:
    # Seen in tmux: after a filter matching nothing, each chart's title said "· no da" (cut) over a flat line
    # and the first and last day of the plot before it ("Nov 05 … Dec 05"), as if those days had been plotted.
    app = make_app(sample_ws_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await _logs(pilot)
        chart = app.screen.query_one("#chart-requests", TrendChart)
        await wait_for(pilot, lambda: chart.days != ("", ""))
        plotted_first, _ = chart.days
        await pilot.press("slash")
        app.screen.query_one("#logs-filter-input").value = "span_attributes.name = 'no such span'"
        await pilot.press("enter")
        await wait_for(pilot, lambda: chart.no_data)
        await settle(pilot)
        drawn = "\n".join(strip.text for strip in chart.render_lines(Region(0, 0, *chart.size)))
        assert "requests/day" in drawn and "no data" in drawn, drawn
        assert plotted_first not in drawn and "▁" not in drawn, drawn


async def test_narrow_charts_never_show_a_day_cut_in_half(sample_ws_path: Path) -> None:
    # Seen in tmux, a terminal made 70 columns wide with Loop open: the charts' days read "Nov 05 D" and
    # "Nov 05 De" (the last day cut).
    app = make_app(sample_ws_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await _logs(pilot)
        charts = list(app.screen.query(TrendChart))
        await wait_for(pilot, lambda: all(chart.days != ("", "") for chart in charts))
        for width in (66, 68, 70, 72, 74):
            await pilot.resize_terminal(width, 30)
            await settle(pilot)
            for chart in charts:
                first, last = chart.days
                shown = " ".join(chart.render_lines(Region(0, 0, *chart.size))[-1].text.split())
                assert shown in ("", first, f"{first} {last}"), (width, shown)


async def test_a_chart_of_one_day_names_that_day_once() -> None:
    # Seen in review: a plot of a single day read "Dec 05 … Dec 05", as if it spanned from that day to itself.
    from textual.app import App, ComposeResult

    class _Chart(App):
        def compose(self) -> ComposeResult:
            yield TrendChart("requests/day", lambda v: f"{v:,.0f}")

    def days(chart: TrendChart) -> list[str]:  # the chart's last drawn line: its days
        lines = [strip.text for strip in chart.render_lines(Region(0, 0, *chart.size))]
        return next(line for line in reversed(lines) if line.strip()).split()

    app = _Chart()
    async with app.run_test(size=(40, 8)) as pilot:
        chart = app.query_one(TrendChart)
        chart.plot([12.0], "Dec 05", "Dec 05")
        await pilot.pause()
        assert days(chart) == ["Dec", "05"]
        chart.plot([12.0, 3.0], "Dec 04", "Dec 05")
        await pilot.pause()
        assert days(chart) == ["Dec", "04", "Dec", "05"]


def test_a_day_without_requests_is_a_gap_in_the_latency_chart_not_zero_seconds() -> None:
    # Seen: the mean-latency chart drew a day without root spans as 0.0 s (its scale's lowest value "0.0s"),
    # and a day without any span was not on the charts at all (a quiet week squeezed out).
    from datetime import UTC, datetime

    from loop_tui.ui.screens.logs import chart_series

    day = [datetime(2026, 3, d, tzinfo=UTC) for d in (1, 2, 4)]
    rows = [{"day": day[0], "requests": 4, "errors": 1, "latency": 1.5, "tokens": 900},
            {"day": day[1], "requests": 0, "errors": 0, "latency": None, "tokens": None},  # child spans only
            {"day": day[2], "requests": 2, "errors": 0, "latency": 3.0, "tokens": 100}]  # (Mar 03: no spans)
    series = chart_series(rows)
    assert series == {"requests": [4, 0, 0, 2], "errors": [1, 0, 0, 0], "latency": [1.5, None, None, 3.0],
                      "tokens": [900, 0, 0, 100]}


async def test_a_gap_in_a_chart_is_drawn_blank_and_left_out_of_its_scale() -> None:
    from textual.app import App, ComposeResult

    class _Chart(App):
        def compose(self) -> ComposeResult:
            yield TrendChart("mean latency", lambda v: f"{v:.1f}s")

    app = _Chart()
    async with app.run_test(size=(30, 8)) as pilot:
        chart = app.query_one(TrendChart)
        chart.plot([1.5, None, None, 3.0], "Mar 01", "Mar 04")
        await pilot.pause()
        lines = [strip.text for strip in chart.render_lines(Region(0, 0, *chart.size))]
        assert lines[1].startswith("3.0s") and lines[3].startswith("1.5s"), lines  # not 0.0s
        bottom = lines[3][len("1.5s "):]
        assert bottom.strip() and bottom.startswith("▁") and "  " in bottom.strip(), lines  # bars, a gap, bars
        assert bottom.rstrip().endswith("█"), lines
