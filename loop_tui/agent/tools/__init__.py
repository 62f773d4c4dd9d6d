"""Loop's tools. `ALL_TOOLS` lists every tool class, in the order the model sees them."""

from __future__ import annotations

from loop_tui.agent.tools.base import Proposal, Tool, ToolArgs, ToolContext, ToolError, ToolOutput
from loop_tui.agent.tools.btql_tools import BtqlQuery, GetDataSource, InferSchema, RunBtql
from loop_tui.agent.tools.control import ContinueExecution
from loop_tui.agent.tools.data import EditData
from loop_tui.agent.tools.docs import SearchDocs
from loop_tui.agent.tools.prompt_tools import EditPrompt, RunEval
from loop_tui.agent.tools.results import GetDetailedResults, GetSummarizedResults
from loop_tui.agent.tools.scorer_tools import CreateCodeScorer, CreateLlmJudgeScorer, EditScorers, GetScorers
from loop_tui.agent.tools.scorer_trial import ScorerTrial

ALL_TOOLS: list[type[Tool]] = [
    SearchDocs,
    GetSummarizedResults,
    GetDetailedResults,
    EditPrompt,
    RunEval,
    EditData,
    GetScorers,
    EditScorers,
    CreateCodeScorer,
    CreateLlmJudgeScorer,
    ScorerTrial,
    BtqlQuery,
    RunBtql,
    GetDataSource,
    InferSchema,
    ContinueExecution,
]

TOOL_NAMES = [t.name for t in ALL_TOOLS]

__all__ = ["ALL_TOOLS", "TOOL_NAMES", "Proposal", "Tool", "ToolArgs", "ToolContext", "ToolError", "ToolOutput"]
