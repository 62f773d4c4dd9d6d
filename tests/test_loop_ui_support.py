"""Helpers for the Loop UI tests: a harness app on the sample workspace and waits that never sleep blindly."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from loop_tui.agent import PageContext
from loop_tui.config import Settings
from loop_tui.ui.loop.harness import LoopHarnessApp

SIZE = (120, 40)


def make_app(ws: Any, page: str = "logs", project: str | None = "support-bot", *, settings: Settings | None = None,
             model: str | None = None, **context: Any) -> LoopHarnessApp:
    """A harness app with one LoopChat on `page` of the sample workspace."""
    return LoopHarnessApp(ws, settings or Settings(), PageContext(page=page, project=project, **context), model=model)


async def wait_for(pilot: Any, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    """Let the app run until `predicate()` holds (fails the test after `timeout` seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
        await pilot.pause(0.02)  # the polling interval: the predicate decides when the wait ends


async def wait_idle(pilot: Any, app: LoopHarnessApp, timeout: float = 30.0) -> None:
    """Wait for the chat's run to finish and its messages to be handled."""
    chat = app.chat
    await wait_for(pilot, lambda: not chat.running and not any(
        w.group == "loop-agent" and w.is_running for w in app.workers), timeout)
    await pilot.pause()  # until the run's last messages are handled


async def wait_modal(pilot: Any, app: LoopHarnessApp, cls: type, timeout: float = 30.0) -> Any:
    """Wait until a modal of type `cls` is on top and return it."""
    await wait_for(pilot, lambda: isinstance(app.screen, cls), timeout)
    await pilot.pause()  # until the modal has handled its mount
    return app.screen


def transcript(app: LoopHarnessApp) -> list[Any]:
    """The transcript's widgets, in order."""
    return list(app.chat.transcript.children)


def kinds(app: LoopHarnessApp) -> list[str]:
    """The transcript as widget class names."""
    return [type(w).__name__ for w in transcript(app)]


def answer_text(app: LoopHarnessApp) -> str:
    """Everything the assistant wrote, joined."""
    return "\n".join(w.text for w in transcript(app) if type(w).__name__ == "AssistantAnswer")


def notices(app: LoopHarnessApp) -> list[str]:
    """The app's own lines in the transcript."""
    return [w.text for w in transcript(app) if type(w).__name__ == "Notice"]


def cards(app: LoopHarnessApp) -> list[Any]:
    """The tool cards."""
    return [w for w in transcript(app) if type(w).__name__ == "ToolCard"]


def tool_results(server: Any) -> dict[str, str]:
    """Tool results the fake server received, by tool call id (OpenAI wire)."""
    out: dict[str, str] = {}
    for request in server.requests:
        body = request.body if isinstance(request.body, dict) else {}
        for message in body.get("messages", []):
            if message.get("role") == "tool":
                out[message.get("tool_call_id")] = message.get("content")
    return out


def last_user_message(server: Any) -> str:
    """The last user message of the last request the fake server received."""
    body = server.requests[-1].body
    users = [m for m in body["messages"] if m.get("role") == "user"]
    content = users[-1]["content"]
    return content if isinstance(content, str) else json.dumps(content)


def system_prompt(server: Any) -> str:
    """The system prompt of the last request."""
    body = server.requests[-1].body
    return next(m["content"] for m in body["messages"] if m.get("role") == "system")
