"""The user's key remapping (settings `ui.keybindings`) through Textual's public keymap API: help and the
palette show the remapped keys, and Loop's workflow keys work on their own page only, remapped or not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loop_tui.config import Settings
from loop_tui.ui.loop import LoopChat, find_chat
from loop_tui.ui.loop.transcript import UserTurn
from tests.test_loop_ui_support import wait_for
from tests.test_ui_support import make_app, settle


def _help_rows(app: Any) -> dict[str, str]:
    from textual.widgets import DataTable

    table = app.screen.query_one(DataTable)
    rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
    return {row[2]: row[0] for row in rows}  # binding id -> keys shown


async def test_help_and_palette_show_the_remapped_keys(sample_ws_path: Path) -> None:
    from textual.widgets import DataTable

    from loop_tui.ui.commands import palette_entries
    from loop_tui.ui.screens.help import HelpScreen

    settings = Settings()
    settings.ui.keybindings = {"app.toggle_chat": "f9", "logs.filter": "!"}
    app = make_app(sample_ws_path, page="logs", settings=settings)
    async with app.run_test(size=(120, 50)) as pilot:
        await settle(pilot)
        entries = {e.title: e.help for e in palette_entries(app)}
        assert entries["logs: filter"] == "key !"
        assert any(title.startswith("app: ") and help_text == "key f9" for title, help_text in entries.items())
        await app.run_action("help")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen) and bool(app.screen.query(DataTable))
                       and app.screen.query_one(DataTable).row_count > 0, timeout=10)
        keys = _help_rows(app)
        assert keys["app.toggle_chat"] == "f9" and keys["logs.filter"] == "!"
        # Loop's keys added to every page are offered by Loop's palette entries, not listed as page keys.
        assert not [binding_id for binding_id in keys if binding_id.startswith(("loop.", "page.loop_"))]
        # The page's own keys come first (what a user opens help for), then the keys that work everywhere.
        order = [binding_id.split(".")[0] for binding_id in keys]
        assert order[0] == "logs" and order.index("app") > max(i for i, area in enumerate(order) if area == "logs")


async def test_help_fits_an_80_column_terminal(sample_ws_path: Path) -> None:
    from textual.widgets import DataTable, Label

    from loop_tui.ui.screens.help import HelpScreen

    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await app.run_action("help")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen) and bool(app.screen.query(DataTable))
                       and app.screen.query_one(DataTable).row_count > 0
                       and app.screen.query_one(DataTable).size.width > 0, timeout=10)
        screen = app.screen
        for label in screen.query(Label):  # every sentence whole: wrapped inside the box, not cut at its edge
            text = str(label.render())
            await wait_for(pilot, lambda label=label, text=text: label.size.width * label.size.height >= len(text))
        table = screen.query_one(DataTable)
        assert table.virtual_size.width <= table.scrollable_content_region.width  # ids not cut


def _asked(chat: LoopChat) -> int:
    return sum(isinstance(w, UserTurn) for w in chat.transcript.children)


async def test_workflow_keys_work_on_their_own_page_only_and_follow_the_keymap(sample_ws_path: Path) -> None:
    settings = Settings()
    settings.ui.keybindings = {"loop.logs.common_errors": "f7"}
    app = make_app(sample_ws_path, page="logs", settings=settings)
    async with app.run_test(size=(150, 45)) as pilot:
        await settle(pilot)
        chat = find_chat(app)
        assert chat is not None
        app.screen.query_one("#page-main ArrowTable").focus()
        await pilot.press("P")  # the playground's "generate prompt": not a key of the logs page
        await pilot.press("E")  # the logs page's "common errors", remapped to f7: no longer its key
        await settle(pilot)
        assert _asked(chat) == 0
        await pilot.press("f7")
        await wait_for(pilot, lambda: _asked(chat) == 1, timeout=10)
        assert "common errors" in chat.transcript.children[0].text.lower()
