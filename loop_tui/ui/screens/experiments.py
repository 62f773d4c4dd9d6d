"""Experiments page (being built)."""

from __future__ import annotations

from loop_tui.ui.screens.base import PageScreen


class ExperimentsScreen(PageScreen):
    """Experiments."""

    PAGE = "experiments"


PAGE_SCREEN = ExperimentsScreen
