"""Loop's conversation follows the user across pages: one conversation, the page context of wherever the
user asks from."""

from __future__ import annotations

from pathlib import Path

from loop_tui.ui.loop import LoopChat
from tests.test_loop_ui_support import wait_for
from tests.test_ui_support import make_app, settle


def _users(chat: LoopChat) -> list[str]:
    return [type(w).__name__ for w in chat.transcript.children if type(w).__name__ == "UserTurn"]


async def test_the_same_conversation_continues_on_the_next_page(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        logs_chat = app.screen.query_one(LoopChat)
        assert logs_chat.send("how do I filter the logs?")
        await wait_for(pilot, lambda: not logs_chat.running)
        conversation = logs_chat.conversation
        assert conversation.page == "logs"
        await pilot.press("2")
        await settle(pilot)
        chat = app.screen.query_one(LoopChat)
        assert chat is not logs_chat
        assert chat.conversation is conversation  # not a new conversation per page
        assert len(_users(chat)) == 1  # the earlier turn is on screen
        assert chat.send("how do I compare experiments?")
        await wait_for(pilot, lambda: not chat.running)
        assert conversation.page == "experiments"  # the page context is the page the user asked from
        assert [m["role"] for m in conversation.messages].count("user") == 2
        await pilot.press("4")
        await settle(pilot)
        assert len(_users(logs_chat)) == 2  # back on logs, the chat shows the turn asked on experiments
        await pilot.press("ctrl+l", "ctrl+n")  # a new conversation there is the new shared one
        await settle(pilot)
        assert logs_chat.conversation is not conversation
        await pilot.press("escape", "2")
        await settle(pilot)
        assert chat.conversation is logs_chat.conversation
