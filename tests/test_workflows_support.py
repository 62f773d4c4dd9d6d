"""Helpers for the workflow tests (no tests here): the real app, a scripted model over the fake server,
and waits for Loop's modals and runs. Each workflow test checks the workspace itself afterwards."""

from __future__ import annotations

import json
from typing import Any

from loop_tui.ui.loop import LoopChat, find_chat
from tests.test_loop_ui_support import wait_for
from tests.test_ui_support import make_app, settle

SIZE = (150, 45)
PAGES = ["playground", "experiments", "datasets", "logs", "btql"]


def chat_of(app: Any) -> LoopChat:
    """The Loop chat on the current page."""
    chat = find_chat(app)
    assert chat is not None
    return chat


async def open_app(pilot: Any) -> None:
    """Let the app's first page load."""
    await settle(pilot)


async def ask(pilot: Any, text: str) -> LoopChat:
    """Put the cursor in Loop's chat and send `text`."""
    chat = chat_of(pilot.app)
    chat.input.focus()
    await pilot.pause()
    chat.input.value = text
    await pilot.press("enter")
    return chat


async def wait_modal(pilot: Any, cls: type, timeout: float = 30.0) -> Any:
    """Until a modal of type `cls` is on top; returns it."""
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, cls), timeout)
    await pilot.pause()  # until the modal has handled its mount
    return pilot.app.screen


async def wait_idle(pilot: Any, chat: LoopChat, timeout: float = 30.0) -> None:
    """Until the chat's run has finished and its messages are handled."""
    await wait_for(pilot, lambda: not chat.running and not any(
        w.group == "loop-agent" and w.is_running for w in pilot.app.workers), timeout)
    await pilot.pause()  # until the run's last messages are handled


def tool_results(server: Any) -> list[tuple[str, str]]:
    """(tool name, result) pairs the scripted model received, in order (OpenAI or Anthropic wire).

    Read from the newest request, which carries the whole conversation; call ids may repeat across replies,
    so each result is named by the call just before it.
    """
    if not server.requests:
        return []
    body = server.requests[-1].body if isinstance(server.requests[-1].body, dict) else {}
    names: dict[str, str] = {}
    out: list[tuple[str, str]] = []
    for message in body.get("messages", []):
        for call in message.get("tool_calls") or []:  # OpenAI
            names[call["id"]] = call["function"]["name"]
        if message.get("role") == "tool":
            out.append((names.get(message["tool_call_id"], "?"), str(message["content"])))
        content = message.get("content")
        for block in content if isinstance(content, list) else []:  # Anthropic
            if block.get("type") == "tool_use":
                names[block["id"]] = block["name"]
            elif block.get("type") == "tool_result":
                text = block.get("content")
                if isinstance(text, list):
                    text = "".join(part.get("text", "") for part in text)
                out.append((names.get(block["tool_use_id"], "?"), str(text)))
    return out


def result_of(server: Any, tool: str) -> Any:
    """The last result of `tool` the model received, parsed as JSON when it is JSON."""
    found = [content for name, content in tool_results(server) if name == tool]
    assert found, f"the model never received a result of {tool}"
    try:
        return json.loads(found[-1])
    except json.JSONDecodeError:
        return found[-1]


def tool_call(tool: str, /, **arguments: Any) -> dict[str, Any]:
    """One scripted model turn calling `tool` (arguments may include `name`)."""
    return {"tool_calls": [{"name": tool, "arguments": arguments}]}


__all__ = ["PAGES", "SIZE", "ask", "chat_of", "make_app", "open_app", "result_of", "settle", "tool_call",
           "tool_results", "wait_for", "wait_idle", "wait_modal"]
