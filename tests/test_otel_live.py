"""The app with an OTLP receiver (`loop-tui --otlp`): the logs page shows it is live, and new spans arrive
without losing the filter or the row under the cursor."""

from __future__ import annotations

from pathlib import Path

import httpx

from loop_tui import clock
from loop_tui.interop.otlp_server import OtlpReceiver
from loop_tui.interop.otlp_writer import SpanWriter
from loop_tui.ui.widgets.arrow_table import ArrowTable
from loop_tui.ui.widgets.live_feed import LiveFeed
from tests.test_loop_ui_support import wait_for
from tests.test_ui_support import make_app, screen_text, settle


def _span(span_id: str, name: str) -> dict:
    start = int((clock.now().timestamp() + 60) * 1e9)  # newer than every sample row: it sorts first
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "support-bot"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": span_id, "name": name,
            "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 250_000_000),
            "attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}}],
        }]}],
    }]}


async def test_live_spans_appear_with_filter_and_cursor_kept(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path)
    receiver = OtlpReceiver(SpanWriter(app.workspace), "127.0.0.1", 0).start_in_thread()
    app.otlp_receiver = receiver
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot)
            await pilot.press("slash")
            for key in "error = null":
                await pilot.press(key)
            await pilot.press("enter")
            await settle(pilot)
            table = app.screen.query_one("#logs-table", ArrowTable)
            table.focus_grid()
            await pilot.press("j", "j")
            await settle(pilot)
            kept = table.raw_row()["id"]
            assert "● live" in str(app.screen.query_one(LiveFeed).render())

            response = httpx.post(f"{receiver.endpoint}/v1/traces", json=_span("00f067aa0ba902b7", "live request"))
            assert response.status_code == 200
            await wait_for(pilot, lambda: table.raw is not None and "00f067aa0ba902b7" in table.raw.column("id").to_pylist())
            await settle(pilot)
            assert table.raw.column("id").to_pylist()[0] == "00f067aa0ba902b7"  # newest first
            assert app.screen.query_state.filter == "error = null"
            assert table.raw_row()["id"] == kept  # the cursor stayed on its row, now one lower
            # after the first tick too, the line still says where to send traces (seen in tmux: it did not)
            await wait_for(pilot, lambda: "spans/s" in str(app.screen.query_one(LiveFeed).render()))
            assert f"● live · {receiver.endpoint} · " in screen_text(app)
    finally:
        receiver.stop()


async def test_without_a_receiver_the_live_line_is_hidden(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        assert not app.screen.query_one(LiveFeed).display


async def test_first_spans_into_an_empty_workspace_open_their_new_project(tmp_path: Path) -> None:
    from loop_tui.store import Workspace

    Workspace.open(tmp_path / "ws")
    app = make_app(tmp_path / "ws", project=None)
    receiver = OtlpReceiver(SpanWriter(app.workspace), "127.0.0.1", 0).start_in_thread()
    app.otlp_receiver = receiver
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot)
            assert app.project is None
            body = _span("00f067aa0ba902b8", "first request")
            body["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"] = "fresh-app"
            assert httpx.post(f"{receiver.endpoint}/v1/traces", json=body).status_code == 200
            await wait_for(pilot, lambda: app.project is not None and app.project.name == "fresh-app")
            table = app.screen.query_one("#logs-table", ArrowTable)
            await wait_for(pilot, lambda: table.raw is not None and table.raw.num_rows == 1)
    finally:
        receiver.stop()


def test_the_in_app_receiver_never_writes_over_the_screen(tmp_path: Path, capfd) -> None:  # type: ignore[no-untyped-def]
    """Seen in tmux: a stray non-HTTP connection to the app's port printed uvicorn's "WARNING: Invalid HTTP
    request received." over the logs page. The app's receiver keeps its server's messages off the terminal."""
    import socket

    from loop_tui.cli.app_cmd import _start_receiver
    from loop_tui.store import Workspace
    from tests.otel_support import wait_until

    receiver = _start_receiver(Workspace.open(tmp_path / "ws"), "127.0.0.1:0")
    try:
        wait_until(lambda: receiver.started, timeout=10)
        with socket.create_connection((receiver.host, receiver.port)) as sock:
            sock.sendall(b"GARBAGE \x00\x01 nonsense\r\n\r\n")
            assert b"400" in sock.recv(200)
        assert httpx.post(f"{receiver.endpoint}/v1/traces", content=b"x",
                          headers={"content-type": "application/x-protobuf"}).status_code == 400
    finally:
        receiver.stop()
    out, err = capfd.readouterr()
    assert out == "" and err == ""


async def test_an_open_trace_fills_in_as_its_spans_arrive(sample_ws_path: Path) -> None:
    """Seen in tmux: OpenTelemetry exports a span when it ends, so an agent's first chat spans arrive long
    before the agent span; the open trace showed those first two and never the rest."""
    from textual.widgets import Tree

    from loop_tui.ui.screens.trace import TraceScreen

    app = make_app(sample_ws_path)
    receiver = OtlpReceiver(SpanWriter(app.workspace), "127.0.0.1", 0).start_in_thread()
    app.otlp_receiver = receiver
    root_id, first_child, second_child = "1111111111111111", "2222222222222222", "3333333333333333"

    def span(span_id: str, name: str, parent: str = "") -> dict:
        body = _span(span_id, name)
        body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["parentSpanId"] = parent
        return body

    try:
        async with app.run_test(size=(140, 40)) as pilot:
            await settle(pilot)
            assert httpx.post(f"{receiver.endpoint}/v1/traces", json=span(first_child, "chat 1", root_id)).status_code == 200
            await wait_for(pilot, lambda: receiver.writer.stats.written == 1)
            project = app.workspace.project("support-bot")
            app.push_screen(TraceScreen(f"project_logs('{project.id}')", "4bf92f3577b34da6a3ce929d0e0e4736"))
            await wait_for(pilot, lambda: isinstance(app.screen, TraceScreen) and bool(app.screen.query("#trace-tree")))
            tree = app.screen.query_one("#trace-tree", Tree)
            await wait_for(pilot, lambda: len(tree.root.children) == 1)
            tree.focus()
            for body in (span(second_child, "chat 2", root_id), span(root_id, "invoke_agent")):
                assert httpx.post(f"{receiver.endpoint}/v1/traces", json=body).status_code == 200
            await wait_for(pilot, lambda: [n.data["span_id"] for n in tree.root.children] == [root_id], timeout=30)
            assert sorted(n.data["span_id"] for n in tree.root.children[0].children) == [first_child, second_child]
            # the highlighted span stays highlighted through the reloads
            await wait_for(pilot, lambda: tree.cursor_node is not None and tree.cursor_node.data["span_id"] == first_child,
                           timeout=30)
    finally:
        receiver.stop()
