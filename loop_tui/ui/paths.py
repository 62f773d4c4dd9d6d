"""Where the app's stylesheets live, from a checkout/editable install or an installed package."""

from __future__ import annotations

import sys
from pathlib import Path

from loop_tui.errors import UserError

STYLESHEETS = (
    "app.tcss",
    "loop.tcss",
    "logs.tcss",
    "experiments.tcss",
    "datasets.tcss",
    "playground.tcss",
    "btql.tcss",
    "settings.tcss",
    "chat.tcss",
)


def styles_dir() -> Path:
    """The folder holding `app.tcss`: top-level `styles/` in a checkout or editable install, else the copy a
    wheel installs under `<prefix>/share/loop-tui/styles` (pyproject's data-files)."""
    package = Path(__file__).resolve().parents[1]
    installed = Path(sys.prefix) / "share" / "loop-tui" / "styles"
    for candidate in (package.parent / "styles", package / "styles", installed):
        if (candidate / "app.tcss").exists():
            return candidate
    raise UserError(
        f"Loop TUI's stylesheets are missing (looked in {package.parent / 'styles'} and {package / 'styles'}); "
        "reinstall the package"
    )


def css_paths() -> list[Path]:
    """Every stylesheet the app loads, in cascade order (globals first)."""
    folder = styles_dir()
    return [folder / name for name in STYLESHEETS if (folder / name).exists()]
