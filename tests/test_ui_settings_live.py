"""Settings have one owner: a save on the Settings page reaches open Loop chats at once, and neither a chat
(ctrl+t) nor the Settings page ever writes back a stale copy."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, SelectionList, Switch

from loop_tui.config import config_path, load_settings
from loop_tui.ui.loop import LoopChat
from tests.test_ui_support import make_app, settle


async def test_a_settings_save_reaches_open_chats_and_ctrl_t_keeps_it(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        chat = app.screen.query_one(LoopChat)
        agent = chat._get_agent()  # a chat that already talked to Loop keeps its agent
        assert not agent.settings.agent.auto_accept
        await pilot.press("6")
        await settle(pilot)
        page = app.screen
        page.query_one("#auto-accept", Switch).value = True
        page.query_one("#max-iterations", Input).value = "3"
        page.query_one("#budget", Input).value = "0.5"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        for settings in (chat.settings, agent.settings):  # applied at once, no restart, no new chat
            assert settings.agent.auto_accept and settings.agent.max_iterations == 3
            assert settings.agent.budget_usd == 0.5
        # ctrl+t in that chat: switch the first tool off; the file keeps the saved limits.
        await pilot.press("ctrl+l")
        await pilot.press("ctrl+t")
        await settle(pilot)
        tools = app.screen.query_one("#loop-tools", SelectionList)
        first = tools.get_option_at_index(0).value
        tools.focus()
        await pilot.press("space", "ctrl+s")
        await settle(pilot)
        on_disk = load_settings(config_path())
        assert first in on_disk.tools.disabled
        assert on_disk.agent.auto_accept and on_disk.agent.max_iterations == 3 and on_disk.agent.budget_usd == 0.5
        assert first in chat.settings.tools.disabled
        # Back on the Settings page, another save keeps the tool off (its draft is not a stale copy).
        await pilot.press("escape", "6")
        await settle(pilot)
        app.screen.query_one("#max-iterations", Input).value = "4"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(pilot)
        on_disk = load_settings(config_path())
        assert on_disk.agent.max_iterations == 4 and first in on_disk.tools.disabled
        assert chat.settings.agent.max_iterations == 4
