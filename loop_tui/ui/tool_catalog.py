"""Loop's tools as the settings page lists them: name, whether it changes data, default policy."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

# The contract's tool names (ARCHITECTURE.md, agent section) and which of them change data. Used when
# the agent package cannot be imported (it is optional for the view); otherwise its registry wins.
_KNOWN = {
    "search_docs": False,
    "get_summarized_results": False,
    "get_detailed_results": False,
    "edit_prompt": True,
    "run_eval": True,
    "edit_data": True,
    "get_scorers": False,
    "edit_scorers": True,
    "create_code_scorer": True,
    "create_llm_judge_scorer": True,
    "btql_query": False,
    "run_btql": False,
    "get_data_source": False,
    "infer_schema": False,
    "continue_execution": False,
}


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
    """Every Loop tool, from the agent's registry when it is available."""
    try:
        from loop_tui.agent.tools import ALL_TOOLS

        tools = [ToolInfo(t.name, bool(t.mutates)) for t in ALL_TOOLS]
        if tools:
            return tools
    except Exception:  # noqa: BLE001 - the registry is optional for the settings view
        pass
    return [ToolInfo(name, mutates) for name, mutates in _KNOWN.items()]


@cache
def mutating_tool_names() -> frozenset[str]:
    """The tools that change data (their cards show undo). Read on first use: the registry imports every tool."""
    return frozenset(t.name for t in loop_tools() if t.mutates)
