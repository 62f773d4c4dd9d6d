"""Datasets page (being built)."""

from __future__ import annotations

from loop_tui.ui.screens.base import PageScreen


class DatasetsScreen(PageScreen):
    """Datasets."""

    PAGE = "datasets"


PAGE_SCREEN = DatasetsScreen
