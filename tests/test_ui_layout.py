"""Layout at ordinary terminal sizes: tabs that fit (and click), a Loop panel sized by the terminal and
resizable (remembered), errors that wrap instead of being cut."""

from __future__ import annotations

from pathlib import Path

import pytest

from loop_tui.ui.app import PAGES
from loop_tui.ui.widgets.chat import ChatPanel
from tests.test_ui_support import make_app, screen_text, settle


@pytest.mark.parametrize("page", list(PAGES))
async def test_every_tab_and_the_active_one_show_at_80x24(sample_ws_path: Path, page: str) -> None:
    app = make_app(sample_ws_path, page=page)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        header = screen_text(app).splitlines()[0]
        for key in "123456":
            assert f"{key} " in header, header
        active = app.screen.query_one(".page-tab.-active")
        assert str(active.render()) in header and active.region.right <= 80
        assert "support-bot" in header or page == "settings" and "^o" in header


async def test_clicking_a_tab_opens_its_page(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.click("#tab-datasets")
        await settle(pilot)
        assert app.current_mode == "datasets"
        await pilot.click("#tab-btql")
        await settle(pilot)
        assert app.current_mode == "btql"


async def test_loop_panel_takes_a_third_and_the_users_width_is_remembered(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one(ChatPanel)
        assert 36 <= panel.outer_size.width <= 44  # about a third, not 50 columns
        await pilot.press("less_than_sign", "less_than_sign")
        await settle(pilot)
        wider = panel.outer_size.width
        assert wider >= 44
        await pilot.press("2")
        await settle(pilot)
        assert app.screen.query_one(ChatPanel).outer_size.width == wider  # the same on every page
    again = make_app(sample_ws_path, page="logs")
    async with again.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert again.screen.query_one(ChatPanel).outer_size.width == wider
        await pilot.press(*["greater_than_sign"] * 20)  # never narrower than the chat can be used at
        await settle(pilot)
        assert again.screen.query_one(ChatPanel).outer_size.width >= 24


async def test_an_error_wraps_instead_of_being_cut(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="playground")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        message = ("openai: no API key for gpt-4o-mini: the provider reads it from an environment variable; "
                   "set it before starting the app: OPENAI_API_KEY")
        app.screen.query_one("#pg-error").update(message)
        await pilot.pause()
        shown = " ".join(line.strip(" │") for line in screen_text(app).splitlines())
        assert "OPENAI_API_KEY" in shown
