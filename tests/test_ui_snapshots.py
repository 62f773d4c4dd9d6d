"""Snapshots of every page at 120×40 on the committed sample workspace (project support-bot).

Review a changed SVG by eye before `pytest --snapshot-update`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.test_loop_ui_support import wait_for
from tests.test_ui_support import freeze_cursors, make_app, screen_text, settle

SIZE = (120, 40)


async def _ready(pilot) -> None:  # type: ignore[no-untyped-def]
    await settle(pilot)
    await wait_for(pilot, lambda: checks_done(pilot.app), timeout=30)
    await settle(pilot)
    await wait_for(pilot, lambda: _laid_out_or_nudged(pilot.app) and tables_shown(pilot.app), timeout=30)
    freeze_cursors(pilot.app)
    paint_afresh(pilot.app)
    await screen_settled(pilot)


def paint_afresh(app) -> None:  # type: ignore[no-untyped-def]
    """Have every table and text editor on the screen paint from what it holds now, not from its line cache.
    Those caches are keyed without two things that change under load: a DataTable's column widths measured
    after its first paint (a picture under `-n 2` kept the cells cut to the headers' widths), and a
    TextArea's cursor once blinking stops (a line cached before the editor had focus kept the cursor
    hidden). `notify_style_update` is Textual's public way to tell a widget its look changed: it drops them."""
    for widget in app.screen.query("DataTable, TextArea"):
        widget.notify_style_update()
        widget.refresh()


def _laid_out_or_nudged(app) -> bool:  # type: ignore[no-untyped-def]
    """Whether every grid with rows has been laid out; if not, ask the screen for a layout again. Under
    `-n 2` load a grid was sometimes mounted with its rows and never laid out (an empty box in the picture,
    for 30 s and more) until something else asked for a layout: a headless Textual miss still to pin down."""
    from loop_tui.ui.widgets.arrow_table import ArrowTable

    for table in app.screen.query(ArrowTable):
        grid = table.grid
        if table.row_count and grid is not None and not (grid.size.height and grid.region.height):
            app.screen.refresh(layout=True)
            return False
    return True


async def screen_settled(pilot, polls: int = 5, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    """Wait until what the screen shows stops changing (a grid still painting, a page re-reading its rows):
    the same text on `polls` looks in a row, each after the app has handled what it had queued. (Three looks
    once caught a table's repaint with its new column widths still pending, on a busy CI machine.)"""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last, same = None, 0
    while same < polls:
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.05)
        shown = screen_text(pilot.app)
        same = same + 1 if shown == last else 0
        last = shown
        if loop.time() > deadline:
            raise AssertionError("the screen kept changing")


async def on_screen(pilot, name: str) -> None:  # type: ignore[no-untyped-def]
    """Wait until the screen a key opens is the active one (a picture taken earlier shows the old one)."""
    await wait_for(pilot, lambda: type(pilot.app.screen).__name__ == name, timeout=30)


def checks_done(app) -> bool:  # type: ignore[no-untyped-def]
    """The BTQL page's as-you-type check (debounced) has run and read its source's fields for completion."""
    from loop_tui.ui.screens.btql import BtqlScreen

    for screen in app.screen_stack:
        if isinstance(screen, BtqlScreen) and screen._schema_source is None:
            return False
    return True


def _cell_width(cell: object) -> int:
    """How many columns a DataTable cell takes (a str is read as markup, as DataTable does)."""
    from rich.errors import MarkupError
    from rich.text import Text

    if isinstance(cell, Text):
        return cell.cell_len
    try:
        return Text.from_markup(str(cell)).cell_len
    except MarkupError:
        return Text(str(cell)).cell_len


def tables_shown(app) -> bool:  # type: ignore[no-untyped-def]
    """Every grid on the screen has its rows mounted (or its message), and every DataTable has measured its
    columns (it does so when idle): a picture taken earlier shows an empty box or cut cells on a loaded machine."""
    from textual.widgets import DataTable

    from loop_tui.ui.widgets.arrow_table import ArrowTable

    for table in app.screen.query(ArrowTable):
        if table.awaiting_rows or (table.row_count and table.grid is None):
            return False
        grid = table.grid
        if table.row_count and grid is not None and not (grid.size.height and grid.region.height):
            return False  # mounted but not laid out yet: the picture would show an empty box
    # (by isinstance: a type selector also matches fastdatatable's grid, whose class has the same name)
    for data_table in [w for w in app.screen.query(DataTable) if isinstance(w, DataTable)]:
        for key, column in data_table.columns.items():
            cells = list(data_table.get_column(key)) if data_table.row_count else []
            widest = max((_cell_width(c) for c in cells), default=0)
            if column.content_width < widest:
                return False
    return True


@pytest.fixture
def stable_config(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The settings page prints the settings path: pin it so the snapshot does not depend on tmp dirs."""
    folder = Path("/tmp/loop-tui-ui-snapshots")
    folder.mkdir(exist_ok=True)
    (folder / "settings.toml").unlink(missing_ok=True)
    monkeypatch.setenv("LOOP_TUI_CONFIG", str(folder / "settings.toml"))


def test_logs_page(snap_compare, sample_ws_path: Path) -> None:
    """You should see the header with "4 Logs" highlighted and project support-bot, the filter bar,
    four per-day charts (requests, errors, latency, tokens), a table of root spans newest first
    (time, name "chat", question previews, errors such as RateLimitError, scores, duration, tokens,
    cost, model), the status "rows 1–200 of …", the Loop side panel and the footer keys."""
    assert snap_compare(make_app(sample_ws_path, "logs"), terminal_size=SIZE, run_before=_ready)


def test_logs_filter_error(snap_compare, sample_ws_path: Path) -> None:
    """You should see the filter `metadata.modl = 'x'` with `metadata.modl` marked and a bind
    error under it with a "did you mean" hint; the table still shows the unfiltered rows."""

    async def type_bad_filter(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press("slash", *"metadata.modl = 'x'")
        await wait_for(pilot, lambda: "Did you mean" in screen_text(pilot.app), timeout=30)  # the debounced check
        await _ready(pilot)

    assert snap_compare(make_app(sample_ws_path, "logs"), terminal_size=SIZE, run_before=type_bad_filter)


def test_trace_view(snap_compare, sample_ws_path: Path) -> None:
    """You should see the slowest trace: a span tree on the left ([task] chat, [llm], [tool] spans with
    durations, ✗ on failed ones) and the selected span's input/output/metrics as pretty JSON."""

    async def open_trace(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press("s", "s")
        await settle(pilot)
        await pilot.press("enter")
        await on_screen(pilot, "TraceScreen")
        await wait_for(pilot, lambda: bool((node := pilot.app.screen.query_one("SpanTree").cursor_node) and node.data))
        await _ready(pilot)

    assert snap_compare(make_app(sample_ws_path, "logs"), terminal_size=SIZE, run_before=open_trace)


def test_experiments_page(snap_compare, sample_ws_path: Path) -> None:
    """You should see three experiments with Factuality and Relevance means, their change vs base in
    percentage points, and a histogram of row scores for each."""
    assert snap_compare(make_app(sample_ws_path, "experiments"), terminal_size=SIZE, run_before=_ready)


def test_experiment_view(snap_compare, sample_ws_path: Path) -> None:
    """You should see the newest experiment's scores vs its base (mean, base, diff, improved,
    regressed, CI), its metrics, and its rows with the biggest regression first."""

    async def open_first(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press("enter")
        await on_screen(pilot, "ExperimentScreen")
        await _ready(pilot)

    assert snap_compare(make_app(sample_ws_path, "experiments"), terminal_size=SIZE, run_before=open_first)


def test_compare_view(snap_compare, sample_ws_path: Path) -> None:
    """You should see two experiments side by side (outputs and scores with deltas vs the first),
    sorted by biggest regression, and below the unified diff of the selected row's outputs."""

    async def compare(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press("space", "down", "space", "c")
        await on_screen(pilot, "CompareScreen")
        await _ready(pilot)

    assert snap_compare(make_app(sample_ws_path, "experiments"), terminal_size=SIZE, run_before=compare)


def test_datasets_page(snap_compare, sample_ws_path: Path) -> None:
    """You should see the datasets list (escalations, support-golden with row counts) and the rows of
    the highlighted dataset (input, expected, metadata, tags, created)."""
    assert snap_compare(make_app(sample_ws_path, "datasets"), terminal_size=SIZE, run_before=_ready)


def test_dataset_row_editor(snap_compare, sample_ws_path: Path) -> None:
    """You should see the row editor modal: input, expected and metadata as pretty JSON in three
    editors, the tags field and the keys (ctrl+s, ctrl+e, esc)."""

    async def edit(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        pilot.app.screen.query_one("#dataset-rows").focus_grid()
        await pilot.press("enter")
        await on_screen(pilot, "DatasetRowEditor")
        await _ready(pilot)

    assert snap_compare(make_app(sample_ws_path, "datasets"), terminal_size=SIZE, run_before=edit)


def test_playground_page(snap_compare, sample_ws_path: Path) -> None:
    """You should see the support-playground prompt as ## system / ## user blocks with
    {{input.question}}, the model, params, dataset and scorer pickers, an empty progress bar and the
    empty results table."""
    assert snap_compare(make_app(sample_ws_path, "playground"), terminal_size=SIZE, run_before=_ready)


def test_btql_page_with_results(snap_compare, sample_ws_path: Path) -> None:
    """You should see a highlighted grouped query (keywords, functions, strings coloured), the
    completions panel, the status "N rows … in …s" and a grid of models with their counts."""

    async def run_query(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        editor = pilot.app.screen.query_one("#btql-editor")
        editor.load_text(
            "dimensions: metadata.model as model\nmeasures: count(1) as n, avg(metrics.tokens) as tokens\n"
            "from: project_logs('support-bot')\nfilter: is_root\nsort: n desc"
        )
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: pilot.app.screen.query_one("#btql-results").grid is not None, timeout=30)
        await _ready(pilot)
        pilot.app.screen.query_one("#btql-status").update("rows shown (timing hidden for the snapshot)")

    assert snap_compare(make_app(sample_ws_path, "btql"), terminal_size=SIZE, run_before=run_query)


def test_btql_error_in_place(snap_compare, sample_ws_path: Path) -> None:
    """You should see `metadata.modle` underlined in the editor and, under it, "bind error at line 1,
    column …" with a hint naming the right field."""

    async def bad(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        pilot.app.screen.query_one("#btql-editor").load_text(
            "select: metadata.modle\nfrom: project_logs('support-bot')\nlimit: 5"
        )
        await wait_for(pilot, lambda: "bind error" in screen_text(pilot.app), timeout=30)  # the debounced check
        await _ready(pilot)

    assert snap_compare(make_app(sample_ws_path, "btql"), terminal_size=SIZE, run_before=bad)


def test_settings_page(snap_compare, sample_ws_path: Path, stable_config: None) -> None:
    """You should see the settings file path, tabs (Models, Providers, Loop tools, Loop, Appearance,
    Key bindings) and the model allowlist."""
    assert snap_compare(make_app(sample_ws_path, "settings"), terminal_size=SIZE, run_before=_ready)


def test_settings_tools_tab(snap_compare, sample_ws_path: Path, stable_config: None) -> None:
    """You should see every Loop tool with read-only/changes data and its policy (ask for tools that
    change data, allow for the rest)."""

    async def tools(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        pilot.app.screen.query_one("#settings-tabs").active = "tab-tools"
        await _ready(pilot)

    assert snap_compare(make_app(sample_ws_path, "settings"), terminal_size=SIZE, run_before=tools)


def test_small_terminal_logs(snap_compare, sample_ws_path: Path) -> None:
    """You should see the logs page at 80×24 without the Loop panel (it starts hidden below 100
    columns; ctrl+l opens it) and without the charts (hidden below 30 rows; c shows them): filter bar,
    15 rows, status line, footer."""

    async def hide_chat(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await _ready(pilot)

    assert snap_compare(make_app(sample_ws_path, "logs"), terminal_size=(80, 24), run_before=hide_chat)
