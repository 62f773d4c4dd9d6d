"""The cursor and typed-ahead keys: keys typed in one burst reach the text field they were meant for.

Textual routes each key to the focus of the moment it is read, and a key's effect (a page switch, the cursor
moving into the filter) happens later, once the widget it was routed to has handled it. So "/" and "error",
or "4", "/" and "error", typed in one burst (a fast typist, a paste, tmux send-keys) sent the letters to the
old focus: they ran as page keys ("n" turned the page) or were lost, and the filter stayed empty.
"""

from __future__ import annotations

from textual import events
from textual.widget import Widget


def focus_now(widget: Widget) -> None:
    """Give `widget` the cursor before the next queued key is handled (`Widget.focus()` only schedules it)."""
    widget.screen.set_focus(widget)


class TypedAheadKeys:
    """App mixin: a typed character that comes back to the app unhandled while an editable text field has the
    cursor was routed before the cursor got there; it goes to the field instead of the app's key bindings.

    An editable field consumes every printable character it is sent, so one that reaches the app (after
    bubbling up from wherever it was routed) was never offered to the field. Read-only fields (the
    playground's prompt before `e`) let their characters through to the page keys, as before.
    """

    focused: Widget | None

    def on_key(self, event: events.Key) -> None:
        """Send a stray printable character to the focused editable field (runs before the app's bindings)."""
        from textual.widgets import Input, TextArea  # not before the first frame (TextArea is not small)

        field = self.focused
        if event.is_printable and (isinstance(field, Input) or (isinstance(field, TextArea) and not field.read_only)):
            event.prevent_default()  # not a page key: the app's binding check is skipped
            event.stop()
            field.post_message(events.Key(event.key, event.character))
