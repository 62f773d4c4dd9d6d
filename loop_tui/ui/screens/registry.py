"""Every screen class with bindings, for the key-bindings list in settings and the help."""

from __future__ import annotations


def all_screen_classes() -> list[type]:
    """The page screens and the screens they push (imported here, only when asked)."""
    from loop_tui.ui.screens import btql, datasets, experiments, logs, playground, settings

    modules = (playground, experiments, datasets, logs, btql, settings)
    pages = [m.PAGE_SCREEN for m in modules]
    pushed = [cls for m in modules for cls in getattr(m, "PUSHED_SCREENS", ())]
    return [*pages, *pushed]
