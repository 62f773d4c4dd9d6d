"""Text re-wraps to the room it has: Loop's answers in full-screen chat, long JSON in the trace view."""

from __future__ import annotations

from pathlib import Path

from loop_tui.ui.loop import LoopChat
from loop_tui.ui.loop.transcript import AssistantAnswer
from tests.test_loop_ui_support import wait_for
from tests.test_ui_support import make_app, screen_text, settle


async def test_full_screen_chat_rewraps_earlier_answers(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        chat = app.screen.query_one(LoopChat)
        assert chat.send("how do I filter the logs?")
        await wait_for(pilot, lambda: not chat.running)
        answer = chat.query(AssistantAnswer).first()
        await wait_for(pilot, lambda: answer.frozen)
        narrow = answer.size.width
        await pilot.press("ctrl+l", "ctrl+f")
        await wait_for(pilot, lambda: answer.frozen and answer.size.width > narrow + 40)
        await settle(pilot)
        widest = max(len(line.rstrip()) for line in screen_text(app).splitlines()[1:-3])
        assert widest > narrow + 20  # the answer's text uses the new width (not its old line breaks)


async def test_long_json_in_the_trace_view_wraps(sample_ws_path: Path) -> None:
    from loop_tui.ui.screens.trace import TraceScreen
    from loop_tui.ui.widgets.span_detail import SpanDetail

    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TraceScreen)
        span = dict(app.screen.query_one("#trace-tree").cursor_node.data)
        long_text = "word " * 60 + "END-OF-THE-INPUT"
        span["input"] = {"question": long_text, "messages": [{"role": "user", "content": long_text}]}
        app.screen.query_one(SpanDetail).show_span(span)
        await pilot.pause()
        assert screen_text(app).count("END-OF-THE-INPUT") == 2  # both long strings shown to their end


async def test_sideways_scrolling_in_a_wide_grid_moves_a_quarter_view(sample_ws_path: Path) -> None:
    from loop_tui.ui.widgets.arrow_table import ArrowTable

    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        grid = app.screen.query_one("#logs-table", ArrowTable).grid
        assert grid is not None and grid.has_focus and grid.max_scroll_x > 40
        view = grid.scrollable_content_region.width
        await pilot.press("right")
        await wait_for(pilot, lambda: grid.scroll_x >= view // 4, timeout=10)
        await pilot.press("right", "right", "left")
        await wait_for(pilot, lambda: grid.scroll_x >= view // 4 * 2, timeout=10)
        await pilot.press(*["left"] * 8)
        await wait_for(pilot, lambda: grid.scroll_x == 0, timeout=10)
