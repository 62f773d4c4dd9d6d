"""Messages the agent worker posts to the chat: one dataclass per thing that happened in a run.

The worker never touches a widget; it turns each `loop_tui.agent` event into one of these and posts it
to the `LoopChat`, which renders it on the event loop in order. Text deltas are batched (never dropped),
tool and confirmation events are posted one for one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from loop_tui.agent.events import ConfirmationRequired, PendingCall


@dataclass
class AgentRunStarted(Message):
    """A run began (the chat shows a busy state and enables cancel)."""

    run_id: int


@dataclass
class AgentTextDelta(Message):
    """A batch of the assistant's answer text, in order."""

    run_id: int
    text: str


@dataclass
class AgentToolStarted(Message):
    """The model called a tool; a card appears and is updated in place by `call.id`."""

    run_id: int
    call: PendingCall


@dataclass
class AgentToolFinished(Message):
    """A tool call ended with a result or an error; `undo_xact` lists store writes that can be undone;
    `artifact` is what the tool made for the page to show (run_eval: the playground's run)."""

    run_id: int
    call: PendingCall
    result: str | None
    error: str | None
    undo_xact: list[int] = field(default_factory=list)
    artifact: Any = None


@dataclass
class AgentConfirmationRequested(Message):
    """A mutating call waits for consent: the chat shows `ConfirmChangeModal` and resolves `request`."""

    run_id: int
    request: ConfirmationRequired


@dataclass
class AgentIterationLimit(Message):
    """The run paused after the iteration cap; the chat offers continue."""

    run_id: int
    iterations: int


@dataclass
class AgentDone(Message):
    """The run finished (or was cancelled, when `cancelled`); `cost_usd` is the conversation's spend."""

    run_id: int
    cost_usd: float = 0.0
    cancelled: bool = False


@dataclass
class AgentFailed(Message):
    """The run stopped on an error the user must act on (one sentence)."""

    run_id: int
    message: str
    kind: str = "error"
