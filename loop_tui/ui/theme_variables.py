"""CSS variables the app's stylesheets use beyond Textual's theme variables (every App that loads them adds
these in `get_css_variables`: the app, and Loop's harness, which loads `styles/loop.tcss`)."""

from __future__ import annotations

from typing import Any


def with_our_variables(app: Any, variables: dict[str, str]) -> dict[str, str]:
    """`variables` plus `$border-idle`: the border of a pane without the cursor, a step lighter than the panels
    on a dark theme and a step darker on a light one (`$panel-lighten-2` on a light theme is near white on a
    near-white page)."""
    theme = app.current_theme
    dark = theme.dark if theme is not None else True
    variables["border-idle"] = variables["panel-lighten-2" if dark else "panel-darken-2"]
    return variables
