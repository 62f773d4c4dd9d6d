"""CSS is parsed again only when the theme changed: a page opened on the same theme is not a reason, and a
page that was in the background when the theme changed still gets the new colours when it comes back."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.color import Color

from tests.test_ui_support import make_app, settle


def _reparses(app, monkeypatch: pytest.MonkeyPatch) -> list[int]:  # type: ignore[no-untyped-def]
    """Count the app stylesheet's full re-parses from now on."""
    counted: list[int] = []
    stylesheet = app.stylesheet
    reparse = stylesheet.reparse

    def counting() -> None:
        counted.append(1)
        reparse()

    monkeypatch.setattr(stylesheet, "reparse", counting)
    return counted


async def test_opening_pages_on_the_same_theme_parses_no_css_again(
    sample_ws_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(sample_ws_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        counted = _reparses(app, monkeypatch)
        for key in ("2", "3", "5", "4"):  # pages opened for the first time, then back to logs
            await pilot.press(key)
            await settle(pilot)
        assert counted == []


async def test_a_page_in_the_background_takes_a_new_theme_when_it_comes_back(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("2")  # the experiments page exists, then goes to the background
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        before = app.get_screen_stack("experiments")[0].styles.background
        app.theme = "nord"
        await settle(pilot)
        nord_background = Color.parse(app.theme_variables["background"])
        assert app.screen.styles.background == nord_background  # the logs page at once
        await pilot.press("2")
        await settle(pilot)
        assert app.screen.styles.background == nord_background != before


@pytest.mark.parametrize("theme", ["textual-dark", "nord", "textual-light", "solarized-light", "catppuccin-latte"])
async def test_an_idle_pane_border_stands_out_from_the_page_in_light_and_dark_themes(sample_ws_path: Path,
                                                                                    theme: str) -> None:
    # Seen in review: in a light theme the border of a pane without the cursor (the rows, while typing a
    # filter) was near white on a near-white page (solarized-light: #FFFFFF on #FDF6E3).
    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=(120, 40)) as pilot:
        app.theme = theme
        await settle(pilot)
        await pilot.press("slash")  # the cursor goes to the filter: the rows' pane is idle
        await settle(pilot)
        pane = app.screen.query_one("#logs-table")
        border, page = pane.styles.border_top[1], pane.background_colors[1]
        assert abs(border.brightness - page.brightness) > 0.15, (theme, border.hex, page.hex)
