"""A Loop conversation: the neutral message list plus what is needed to resume it.

Saved in the workspace catalog (kind `conversation`, one object per conversation, a new version per
save) so the app can list and resume them per project. Every string is scrubbed of secrets before it
is saved; the system prompt is not saved (it is rebuilt for the page on every run).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loop_tui import clock
from loop_tui.errors import NotFoundError
from loop_tui.redaction import scrub, scrub_value

if TYPE_CHECKING:
    from loop_tui.store import Workspace

KIND = "conversation"


@dataclass
class Conversation:
    """Messages (neutral shape from `loop_tui.llm.base`) and the state a resumed run needs."""

    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    title: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    project_id: str = ""
    page: str = "logs"
    model: str | None = None
    cost_usd: float = 0.0
    paused: bool = False
    created: str = field(default_factory=lambda: clock.now().isoformat())

    def add_user(self, text: str) -> None:
        """Append the user's message (scrubbed of secrets; the first one also becomes the title)."""
        text = scrub(text)
        if not self.title:
            self.title = " ".join(text.split())[:80]
        self.messages.append({"role": "user", "content": text})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data, scrubbed of anything that looks like a secret."""
        data = {
            "title": self.title,
            "messages": self.messages,
            "page": self.page,
            "model": self.model,
            "cost_usd": round(self.cost_usd, 6),
            "paused": self.paused,
            "created": self.created,
        }
        return scrub_value(data)

    @classmethod
    def from_dict(cls, id: str, project_id: str, data: dict[str, Any]) -> Conversation:
        """Rebuild a saved conversation."""
        return cls(
            id=id,
            project_id=project_id,
            title=data.get("title", ""),
            messages=list(data.get("messages", [])),
            page=data.get("page", "logs"),
            model=data.get("model"),
            cost_usd=float(data.get("cost_usd") or 0.0),
            paused=bool(data.get("paused")),
            created=data.get("created") or clock.now().isoformat(),
        )


def save_conversation(workspace: Workspace, conversation: Conversation) -> None:
    """Write the conversation's current state as a new version of its catalog object."""
    workspace.save_object(KIND, conversation.project_id, conversation.id, conversation.to_dict(), id=conversation.id)


def load_conversation(workspace: Workspace, conversation_id: str) -> Conversation:
    """A saved conversation by id (NotFoundError when there is none)."""
    obj = workspace.object_by_id(conversation_id)
    if obj.kind != KIND:
        raise NotFoundError(f"no conversation with id {conversation_id!r}")
    return Conversation.from_dict(obj.id, obj.project_id, obj.data)


def list_conversations(workspace: Workspace, project_id: str = "") -> list[Conversation]:
    """The project's saved conversations, newest first."""
    return [Conversation.from_dict(o.id, o.project_id, o.data) for o in workspace.objects(KIND, project_id)]
