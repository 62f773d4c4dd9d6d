"""Btql page (being built)."""

from __future__ import annotations

from loop_tui.ui.screens.base import PageScreen


class BtqlScreen(PageScreen):
    """Btql."""

    PAGE = "btql"


PAGE_SCREEN = BtqlScreen
