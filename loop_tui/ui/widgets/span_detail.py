"""`SpanDetail`: one span's input, output, expected, error, scores, metrics and metadata as pretty JSON."""

from __future__ import annotations

from typing import Any

from rich.json import JSON
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from loop_tui.ui.formatting import as_mapping, fmt_duration, parse_json_text, pretty_json

SECTIONS = ("input", "output", "expected", "error", "scores", "metrics", "metadata", "tags")


def _renderable(value: Any) -> Any:
    text = pretty_json(value)
    try:
        shown = JSON(text)
    except Exception:  # noqa: BLE001 - plain text is not JSON; show it as it is
        return Text(text)
    # rich's JSON never wraps: a long string value (a prompt, an answer) would be cut at the pane's edge.
    shown.text.no_wrap = False
    shown.text.overflow = "fold"
    return shown


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
            Text.assemble((f"{name or 'span'}", "bold"), f"  {kind}  {duration}  id {row.get('span_id', '')}")
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
