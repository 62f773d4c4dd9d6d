"""Logs page (being built)."""

from __future__ import annotations

from loop_tui.ui.screens.base import PageScreen


class LogsScreen(PageScreen):
    """Logs."""

    PAGE = "logs"


PAGE_SCREEN = LogsScreen
