"""The app shell: pages as modes, keys, project switcher, palette, remapping, chat slot, robustness."""

from __future__ import annotations

from pathlib import Path

import pytest

from loop_tui.config import Settings
from loop_tui.ui.app import PAGES
from tests.test_loop_ui_support import wait_for
from tests.test_ui_support import make_app, screen_text, settle


async def test_number_keys_switch_pages_and_header_follows(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for name, (title, key) in PAGES.items():
            await pilot.press("escape", key)  # escape leaves an editor so digits switch pages
            await settle(pilot)
            assert app.current_mode == name
            active = app.screen.query_one(".page-tab.-active")
            assert title in str(active.render())


async def test_project_switcher_reloads_the_page(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.project.name == "support-bot"
        await pilot.press("ctrl+o")
        await settle(pilot)
        await pilot.press("up", "enter")  # the other project (the list opens on the current one)
        await settle(pilot)
        assert app.project.name == "invoice-extraction"
        assert "project: invoice-extraction" in screen_text(app)
        assert "extract_invoice" in screen_text(app)  # the logs of the new project


async def test_the_app_reopens_the_project_last_shown(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="logs")  # --project support-bot
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot)
        await pilot.press("up", "enter")
        await settle(pilot)
        assert app.project.name == "invoice-extraction"
    again = make_app(sample_ws_path, page="logs", project=None)  # no --project: where the user left off
    async with again.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert again.project.name == "invoice-extraction"
    explicit = make_app(sample_ws_path, page="logs", project="support-bot")  # --project still wins
    async with explicit.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert explicit.project.name == "support-bot"


async def test_palette_lists_every_action_as_area_action(sample_ws_path: Path) -> None:
    from loop_tui.ui.commands import palette_entries

    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        titles = {e.title for e in palette_entries(app)}
        assert {"logs: filter", "logs: add to dataset", "app: ask Loop", "app: project"} <= titles
        assert all(": " in t for t in titles)
        entry = next(e for e in palette_entries(app) if e.title == "logs: charts")
        charts = app.screen.query_one("#logs-charts")
        before = charts.display
        entry.run()
        await pilot.pause()
        assert charts.display is not before


async def test_keybindings_from_settings_remap_actions(sample_ws_path: Path) -> None:
    settings = Settings()
    settings.ui.keybindings = {"app.toggle_chat": "f9", "app.page.btql": "f8"}
    app = make_app(sample_ws_path, page="logs", settings=settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one("#chat-panel")
        assert panel.display
        await pilot.press("ctrl+l")  # the old key no longer toggles
        await pilot.pause()
        assert panel.display
        await pilot.press("f9")  # first press: the cursor goes to Loop's input
        await pilot.pause()
        assert panel.display and app.focused is not None and app.focused.id == "loop-input"
        await pilot.press("f9")  # second press: hide the panel
        await pilot.pause()
        assert not panel.display
        await pilot.press("f8")
        await settle(pilot)
        assert app.current_mode == "btql"
        assert not app.screen.query_one("#chat-panel").display  # hidden on every page


async def test_chat_panel_hosts_loop_with_the_page_context(sample_ws_path: Path) -> None:
    """Every page's side panel is the real Loop chat, and it knows which page and project it is on."""
    from loop_tui.ui.loop import LoopChat

    app = make_app(sample_ws_path, page="experiments")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        chat = app.screen.query_one("#chat-panel").query_one(LoopChat)
        context = chat.page_context()
        assert context.page == "experiments" and context.project == app.project.name
        assert "offline" in str(app.screen.query_one("#loop-header").render()).lower()


async def test_help_lists_keys_of_the_page(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
        assert "logs.filter" in text and "app.toggle_chat" in text
        await pilot.press("escape")


@pytest.mark.parametrize("page", list(PAGES))
async def test_every_page_survives_80x24(sample_ws_path: Path, page: str) -> None:
    app = make_app(sample_ws_path, page=page)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.current_mode == page
        assert "Loop TUI" in screen_text(app)


async def test_every_page_survives_an_empty_workspace(tmp_path: Path) -> None:
    app = make_app(tmp_path / "empty-ws", page="logs", project=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert "No projects in this workspace yet" in screen_text(app)
        for _, key in PAGES.values():
            await pilot.press(key)
            await settle(pilot)
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert "Switch project" in screen_text(app)


def test_app_command_rejects_a_bad_workspace_in_one_line(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    bogus = tmp_path / "file.txt"
    bogus.write_text("x")
    result = run_cli("--workspace", str(bogus), "app")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "is a file" in result.stderr


def _palette_highlights(app, title: str) -> bool:  # type: ignore[no-untyped-def]
    """The command palette lists its matches and the highlighted one is `title`."""
    from textual.command import CommandList

    lists = app.screen.query(CommandList)
    if not lists or lists.first().highlighted is None:
        return False
    options = lists.first()
    return title in str(options.get_option_at_index(options.highlighted).prompt)


async def test_palette_runs_an_action_typed_by_name(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        for key in "logs: filter":
            await pilot.press(key)
        # The palette searches its providers asynchronously: wait until the match is listed and highlighted.
        await wait_for(pilot, lambda: _palette_highlights(app, "logs: filter"), timeout=30)
        await pilot.press("enter")
        await settle(pilot)
        assert app.focused is app.screen.query_one("#logs-filter-input")


async def test_theme_from_settings_is_applied_and_previewed(sample_ws_path: Path) -> None:
    from textual.widgets import Select

    from loop_tui.config import config_path, load_settings

    settings = Settings()
    settings.ui.theme = "nord"
    app = make_app(sample_ws_path, page="settings", settings=settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.theme == "nord"
        select = app.screen.query_one("#theme-select", Select)
        select.focus()
        select.value = "gruvbox"
        await pilot.pause()
        assert app.theme == "gruvbox"
        await pilot.press("ctrl+s")
        # The save is written in a worker: wait for the file to say so.
        await wait_for(pilot, lambda: config_path().exists() and load_settings(config_path()).ui.theme == "gruvbox", timeout=30)
