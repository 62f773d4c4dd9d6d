"""`SpanDetail`: one span's input, output, expected, error, scores, metrics and metadata as pretty JSON."""

from __future__ import annotations

from typing import Any

from rich.highlighter import JSONHighlighter
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from loop_tui.safe_text import literal, visible
from loop_tui.ui.formatting import as_mapping, fmt_duration, parse_json_text, pretty_json

_HIGHLIGHT_JSON = JSONHighlighter()

SECTIONS = ("input", "output", "expected", "error", "scores", "metrics", "metadata", "tags")


def _renderable(value: Any) -> Text:
    # Highlight the sanitised text in place: rich's JSON() would decode and re-dump it, turning a
    # `\\u009b` escape back into the raw control character.
    text = literal(pretty_json(value))
    if not isinstance(parse_json_text(value), str):  # plain text is shown as it is
        _HIGHLIGHT_JSON.highlight(text)
    # A long string value (a prompt, an answer) wraps instead of being cut at the pane's edge.
    text.no_wrap = False
    text.overflow = "fold"
    return text


class SpanDetail(VerticalScroll):
    """The selected span, section by section (empty sections are left out)."""

    def compose(self) -> ComposeResult:
        yield Static("Select a span.", id="span-title")
        for name in SECTIONS:
            yield Static(name, classes="section-title hidden", id=f"span-{name}-title")
            yield Static("", classes="span-section hidden", id=f"span-{name}")

    def show_span(self, row: dict[str, Any]) -> None:
        """Show `row` (a span in the store's row format)."""
        attrs = parse_json_text(row.get("span_attributes"))
        name = attrs.get("name", "") if isinstance(attrs, dict) else ""
        kind = attrs.get("type", "") if isinstance(attrs, dict) else ""
        metrics = as_mapping(row.get("metrics"))
        duration = ""
        if metrics.get("start") is not None and metrics.get("end") is not None:
            duration = fmt_duration(metrics["end"] - metrics["start"])
        self.query_one("#span-title", Static).update(
            Text.assemble((visible(name or "span"), "bold"), visible(f"  {kind}  {duration}  id {row.get('span_id', '')}"))
        )
        for section in SECTIONS:
            value = row.get(section)
            if section in ("scores", "metrics"):
                value = {k: v for k, v in as_mapping(value).items() if v is not None} or None
            empty = value is None or value == [] or value == {}
            self.query_one(f"#span-{section}-title").set_class(empty, "hidden")
            body = self.query_one(f"#span-{section}", Static)
            body.set_class(empty, "hidden")
            if not empty:
                body.update(_renderable(value))
        self.scroll_home(animate=False)
