"""Rebuild a saved conversation's transcript (for resume): user turns, answers and tool cards."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widget import Widget

from loop_tui.agent.events import DECLINED
from loop_tui.ui.loop.transcript import AssistantAnswer, ToolCard, UserTurn
from loop_tui.ui.tool_catalog import mutating_tool_names

if TYPE_CHECKING:
    from loop_tui.agent import Conversation

SUMMARY_PREFIX = "The user now says: "


def replay_widgets(conversation: Conversation) -> list[Widget]:
    """Widgets showing the conversation as it was (tool results attached to their cards by call id)."""
    widgets: list[Widget] = []
    cards: dict[str, ToolCard] = {}
    for message in conversation.messages:
        role = message.get("role")
        content = str(message.get("content") or "")
        if role == "user":
            widgets.append(UserTurn(content.rpartition(SUMMARY_PREFIX)[2] or content))
        elif role == "assistant":
            if content.strip():
                widgets.append(AssistantAnswer(content))
            for call in message.get("tool_calls") or []:
                mutates = call["name"] in mutating_tool_names()
                card = ToolCard(call["id"], call["name"], call.get("arguments") or {}, mutates=mutates)
                cards[call["id"]] = card
                widgets.append(card)
        elif role == "tool":
            answered = cards.get(str(message.get("tool_call_id")))
            if answered is not None:
                error = content.removeprefix("Error: ") if content.startswith("Error: ") else None
                answered.result = None if error else content
                answered.error = error
                answered.status = "error" if error else ("declined" if content == DECLINED else "ok")
                answered.note = "declined" if content == DECLINED else ""
    return widgets
