"""What `Agent.run` yields: the events a chat panel or the headless CLI renders as they happen.

Text arrives as deltas; each tool call is announced (`ToolStarted`) and later closed by its id
(`ToolFinished`); a mutating call that needs consent yields `ConfirmationRequired` and the run waits
until the caller resolves its future with a `Decision`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from loop_tui.llm.base import TextDelta  # a piece of the answer: the model's own event, passed on as it is

# The tool result a model gets when the user declines a change (the UI recognises it to mark the card).
DECLINED = "The user declined this change; nothing was changed. Do not retry it; ask what they would like instead."


class Decision(StrEnum):
    """The user's answer to a confirmation: apply once, refuse, or apply and stop asking for this tool."""

    ACCEPT = "accept"
    REJECT = "reject"
    ALWAYS = "always"


@dataclass(frozen=True)
class PendingCall:
    """A tool call as the agent runs it: the model's id, the tool name and its parsed arguments."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Preview:
    """What a mutating tool would change, for a confirmation dialog.

    kind: `diff` (prompt/scorer edits; `text` is a unified diff), `rows` (data edits; `rows` lists them),
    `eval` (an eval run; `details` holds scope and `estimated_cost_usd`). `text` is always a plain-text
    rendering fit for a terminal.
    """

    kind: str
    title: str
    text: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolStarted:
    """The model called a tool; its result follows in a `ToolFinished` with the same `call.id`."""

    call: PendingCall


@dataclass(frozen=True)
class ToolFinished:
    """A tool call ended: `result` is what the model receives, `error` set when the call failed.

    `undo_xact` is the store transaction of an accepted change (pass it to `Workspace.undo`); `artifact` is
    what the tool made for the page to show (see `ToolOutput.artifact`).
    """

    call: PendingCall
    result: str | None = None
    error: str | None = None
    undo_xact: list[int] = field(default_factory=list)
    artifact: Any = None


@dataclass
class ConfirmationRequired:
    """A mutating call waits for consent: resolve `future` with a `Decision` (cancel it to reject)."""

    call: PendingCall
    preview: Preview
    future: asyncio.Future[Decision]

    def resolve(self, decision: Decision | str) -> None:
        """Answer the confirmation (safe to call twice; the first answer wins)."""
        if not self.future.done():
            self.future.set_result(Decision(decision))


@dataclass(frozen=True)
class IterationLimit:
    """The run used `settings.agent.max_iterations` model turns and paused; run again to continue."""

    iterations: int


@dataclass(frozen=True)
class TurnFinished:
    """The run finished; `cost_usd` is the conversation's total estimated model spend so far."""

    stop_reason: str = "stop"
    cost_usd: float = 0.0


@dataclass(frozen=True)
class Failed:
    """The run stopped on an error the user must act on (provider failure, budget, bad input)."""

    message: str
    kind: str = "error"


AgentEvent = TextDelta | ToolStarted | ToolFinished | ConfirmationRequired | IterationLimit | TurnFinished | Failed
