"""Playground page (being built)."""

from __future__ import annotations

from loop_tui.ui.screens.base import PageScreen


class PlaygroundScreen(PageScreen):
    """Playground."""

    PAGE = "playground"


PAGE_SCREEN = PlaygroundScreen
