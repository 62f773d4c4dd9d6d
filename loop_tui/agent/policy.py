"""Tool policies: which tools are offered, and which must ask before they run.

`deny` (or a name in `tools.disabled`) removes a tool from the model's view AND from what the agent will
execute, so a model that names a hidden tool anyway gets an error, never a change. Mutating tools default
to `ask`; `agent.auto_accept` turns every `ask` into `allow`. A user's "always allow" in a confirmation
adds a session override on top of the settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from loop_tui.agent.tools.base import Tool
    from loop_tui.config import Settings

Policy = Literal["allow", "ask", "deny"]


class ToolPolicies:
    """Effective policy per tool from settings plus this session's 'always allow' answers."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._session_allow: set[str] = set()

    def always_allow(self, tool_name: str) -> None:
        """Stop asking for this tool for the rest of the session."""
        self._session_allow.add(tool_name)

    def policy(self, tool: Tool) -> Policy:
        """The policy that applies to `tool` right now."""
        tools = self._settings.tools
        if tool.name in tools.disabled:
            return "deny"
        configured = tools.policies.get(tool.name)
        if configured == "deny":
            return "deny"
        policy: Policy = configured or ("ask" if tool.mutates else "allow")
        if policy == "ask" and (self._settings.agent.auto_accept or tool.name in self._session_allow):
            return "allow"
        return policy

    def needs_confirmation(self, tool: Tool) -> bool:
        """Whether running `tool` must wait for the user's yes."""
        return self.policy(tool) == "ask"
