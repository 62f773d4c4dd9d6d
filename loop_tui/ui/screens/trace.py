"""Trace view: the span tree of one trace (left) and the selected span's details (right)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Static, Tree

from loop_tui.safe_text import literal
from loop_tui.ui.formatting import as_mapping, fmt_duration, parse_json_text
from loop_tui.ui.messages import WorkFailed
from loop_tui.ui.screens.base import PageScreen
from loop_tui.ui.widgets.span_detail import SpanDetail


def span_label(row: dict[str, Any]) -> Text:
    """"[llm] chat 1.20s ✗ error" for the tree, as plain text (a span named `[red]x[/` is shown as written)."""
    attrs = parse_json_text(row.get("span_attributes"))
    attrs = attrs if isinstance(attrs, dict) else {}
    metrics = as_mapping(row.get("metrics"))
    duration = ""
    if metrics.get("start") is not None and metrics.get("end") is not None:
        duration = " " + fmt_duration(metrics["end"] - metrics["start"])
    error = " ✗ error" if row.get("error") else ""
    kind = f"[{attrs['type']}] " if attrs.get("type") else ""
    return literal(f"{kind}{attrs.get('name') or 'span'}{duration}{error}")


def _nodes(node: Any) -> list[Any]:
    """Every node under `node`, depth first (the order `_show_tree` adds them in)."""
    out = []
    for child in node.children:
        out.append(child)
        out.extend(_nodes(child))
    return out


def build_tree(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """(root spans, children by parent span id); spans whose parent is missing become roots."""
    by_span = {r["span_id"]: r for r in rows}
    children: dict[str, list[dict[str, Any]]] = {}
    roots = []
    for row in rows:
        parents = [p for p in (row.get("span_parents") or []) if p != row["span_id"]]
        parent = next((p for p in parents if p in by_span), None)
        if parent is None:
            roots.append(row)
        else:
            children.setdefault(parent, []).append(row)
    return roots, children


class SpanTree(Tree[dict]):
    """The trace's spans; j/k move, enter/space expand."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="trace.down"),
        Binding("k", "cursor_up", "Up", show=False, id="trace.up"),
    ]


class TraceScreen(PageScreen):
    """One trace: span tree + span detail."""

    ROOT_PAGE = False

    PAGE = "logs"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "back", "Back", id="trace.back"),
        Binding("right,l", "focus_detail", "Detail", id="trace.detail"),
        Binding("left,h", "focus_tree", "Tree", id="trace.tree"),
        Binding("y", "copy_span", "Copy span", show=False, id="trace.copy_span"),
    ]

    @dataclass
    class SpansLoaded(Message):
        """The trace's spans, oldest first."""

        rows: list[dict[str, Any]]

    def __init__(self, source: str, root_span_id: str, focus_span_id: str | None = None, *, page: str = "logs") -> None:
        self.PAGE = page
        super().__init__()
        self.source = source
        self.root_span_id = root_span_id
        self.focus_span_id = focus_span_id

    def compose_page(self) -> ComposeResult:
        with Horizontal(id="trace-body"):
            tree = SpanTree("trace", id="trace-tree", classes="pane")
            tree.border_title = literal(f"trace {self.root_span_id[:8]}")  # ids are data too
            yield tree
            detail = SpanDetail(id="span-detail", classes="pane")
            detail.border_title = "span"
            yield detail

    def on_mount(self) -> None:
        super().on_mount()
        receiver = getattr(self.app, "otlp_receiver", None)
        self._live_reload = False
        if receiver is not None and self.source.startswith("project_logs("):
            self._live_written = receiver.writer.stats.written
            self.set_interval(1.0, self._follow_receiver)

    def _follow_receiver(self) -> None:
        """With `--otlp`, spans stored since the last look may belong to this trace (OpenTelemetry exports a
        span when it ends: children arrive before their parents, batch by batch). Re-read it, keeping the
        highlighted span and the focus."""
        written = self.app.otlp_receiver.writer.stats.written  # type: ignore[attr-defined]
        if written == self._live_written:
            return
        self._live_written = written
        node = self.query_one(SpanTree).cursor_node
        if node is not None and node.data:
            self.focus_span_id = node.data.get("id")
        self._live_reload = True
        self._load_spans()

    def refresh_if_stale(self) -> None:
        self.show_project()
        if self._loaded_key is None:
            self._loaded_key = (None, 0)
            self._load_spans()

    @work(thread=True, exclusive=True, group="trace", exit_on_error=False)
    def _load_spans(self) -> None:
        from loop_tui.btql import BtqlError, run

        query = (
            f"select: * | from: {self.source} | filter: root_span_id = '{self.root_span_id}' "
            "| sort: created asc | limit: 2000"
        )
        try:
            rows = run(query, self.workspace).table.to_pylist()
        except BtqlError as err:
            self.post_message(WorkFailed("trace", str(err)))
            return
        self.post_message(self.SpansLoaded(rows))

    def show_worker_failure(self, sentence: str, in_place: bool) -> None:
        """The trace could not be read: say so in the span pane, where its spans would have been shown."""
        if in_place:
            self.query_one("#span-title", Static).update(literal(sentence))
        else:
            super().show_worker_failure(sentence, in_place)

    @on(SpansLoaded)
    def _show_tree(self, message: SpansLoaded) -> None:
        tree = self.query_one(SpanTree)
        live, self._live_reload = self._live_reload, False
        if live and {(r.get("id"), r.get("_xact_id")) for r in message.rows} == {
            (node.data.get("id"), node.data.get("_xact_id")) for node in _nodes(tree.root) if node.data
        }:
            return  # nothing of this trace arrived: leave the tree as it is
        roots, children = build_tree(message.rows)
        tree.clear()
        tree.show_root = False
        focus_node = None

        def add(parent: Any, row: dict[str, Any]) -> None:
            nonlocal focus_node
            kids = children.get(row["span_id"], [])
            node = parent.add(span_label(row), data=row, expand=True, allow_expand=bool(kids))
            if row.get("id") == self.focus_span_id or focus_node is None:
                focus_node = node if row.get("id") == self.focus_span_id or focus_node is None else focus_node
            for kid in kids:
                add(node, kid)

        for root in roots:
            add(tree.root, root)
        tree.root.expand()
        tree.border_subtitle = f"{len(message.rows)} spans"
        if not live:
            tree.focus()
        if focus_node is not None:
            # A node added just now has no line number until the tree lays itself out again (`move_cursor`
            # then fell back to the first line); with every node expanded, its line is its depth-first place.
            tree.move_cursor_to_line(_nodes(tree.root).index(focus_node))
            self.query_one(SpanDetail).show_span(focus_node.data)

    @on(Tree.NodeHighlighted, "#trace-tree")
    def _show_span(self, event: Tree.NodeHighlighted) -> None:
        if event.node.data:
            self.query_one(SpanDetail).show_span(event.node.data)

    def loop_context(self) -> dict[str, object]:
        """Loop sees the highlighted span (and the experiment, for an experiment's trace)."""
        node = self.query_one(SpanTree).cursor_node
        context: dict[str, object] = {"selected_row_ids": [node.data["id"]] if node is not None and node.data else []}
        if self.source.startswith("experiment('"):
            context["experiment_id"] = self.source.removeprefix("experiment('").removesuffix("')")
        return context

    def action_back(self) -> None:
        """Back to the list (esc in a text field or Loop's panel only leaves it)."""
        if not self.leave_field_first():
            self.dismiss()

    def action_copy_span(self) -> None:
        """Copy the highlighted span as JSON."""
        from loop_tui.ui.clipboard import copy_out, row_json

        node = self.query_one(SpanTree).cursor_node
        if node is None or not node.data:
            self.notify("no span to copy", severity="warning")
            return
        copy_out(self.app, row_json(node.data), "the span as JSON")

    def action_focus_detail(self) -> None:
        """Move focus to the span detail (scroll with arrows)."""
        self.query_one(SpanDetail).focus()

    def action_focus_tree(self) -> None:
        """Move focus to the span tree."""
        self.query_one(SpanTree).focus()
