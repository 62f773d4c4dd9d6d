"""Loop's tools as the settings page lists them: name, whether it changes data, default policy."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class ToolInfo:
    """One Loop tool for the settings page."""

    name: str
    mutates: bool

    @property
    def default_policy(self) -> str:
        """`ask` for tools that change data, `allow` for the rest."""
        return "ask" if self.mutates else "allow"


def loop_tools() -> list[ToolInfo]:
    """Every Loop tool, from the agent's registry (the one list of tools: a second one here went stale)."""
    from loop_tui.agent.tools import ALL_TOOLS  # imported on first use: the registry imports every tool

    return [ToolInfo(t.name, bool(t.mutates)) for t in ALL_TOOLS]


@cache
def mutating_tool_names() -> frozenset[str]:
    """The tools that change data (their cards show undo). Read on first use: the registry imports every tool."""
    return frozenset(t.name for t in loop_tools() if t.mutates)
