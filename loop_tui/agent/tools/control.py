"""continue_execution: resume a task that paused at the iteration limit."""

from __future__ import annotations

from loop_tui.agent.tools.base import ALL_PAGES, NoArgs, Tool, ToolContext


class ContinueExecution(Tool[NoArgs]):
    """Resume after the iteration limit."""

    name = "continue_execution"
    description = (
        "Resume the task you were working on after the conversation paused at its iteration limit. Call it "
        "when the user asks you to go on; it gives you a fresh set of iterations. Only offered while paused."
    )
    pages = ALL_PAGES

    async def run(self, args: object, ctx: ToolContext) -> str:
        if ctx.resume is None:
            return "Nothing to resume: the conversation is not paused."
        return ctx.resume()
