"""Loop, the agent: a conversation loop over any model provider, with tools over the workspace.

    agent = Agent(workspace, settings)                  # or provider=..., model=...
    conversation = Conversation(); conversation.add_user("most common errors this week?")
    async for event in agent.run(conversation, PageContext(page="logs", project="support-bot")):
        ...   # TextDelta, ToolStarted, ToolFinished, ConfirmationRequired (resolve its future),
              # IterationLimit, TurnFinished, Failed

Nothing here imports Textual; the app and `loop-tui ask` are views over these events. `Agent` (and with it
every tool) is imported on first use, so the app's first frame does not wait for it.
"""

from typing import Any

from loop_tui.agent.context import PAGES, PageContext
from loop_tui.agent.conversation import Conversation, list_conversations, load_conversation, save_conversation
from loop_tui.agent.events import (
    AgentEvent,
    ConfirmationRequired,
    Decision,
    Failed,
    IterationLimit,
    PendingCall,
    Preview,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnFinished,
)


def __getattr__(name: str) -> Any:
    if name == "Agent":
        from loop_tui.agent.loop import Agent

        return Agent
    raise AttributeError(f"module 'loop_tui.agent' has no attribute {name!r}")


__all__ = [
    "PAGES",
    "Agent",
    "AgentEvent",
    "ConfirmationRequired",
    "Conversation",
    "Decision",
    "Failed",
    "IterationLimit",
    "PageContext",
    "PendingCall",
    "Preview",
    "TextDelta",
    "ToolFinished",
    "ToolStarted",
    "TurnFinished",
    "list_conversations",
    "load_conversation",
    "save_conversation",
]
