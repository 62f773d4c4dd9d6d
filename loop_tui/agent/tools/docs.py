"""search_docs: ranked passages from Loop TUI's own user documentation."""

from __future__ import annotations

from pydantic import Field

from loop_tui.agent.docsearch import docs_index
from loop_tui.agent.tools.base import ALL_PAGES, Tool, ToolArgs, ToolContext, to_json


class SearchDocsArgs(ToolArgs):
    query: str = Field(description="What to look up, in a few words, e.g. 'undo a dataset edit' or 'BTQL percentile'.")
    limit: int = Field(default=4, ge=1, le=10, description="How many passages to return.")


class SearchDocs(Tool[SearchDocsArgs]):
    """Search the user documentation."""

    name = "search_docs"
    description = (
        "Search Loop TUI's user documentation (pages, playground, experiments, datasets, logs, BTQL reference, "
        "scorers, Loop, settings, CLI). Returns the best-matching sections with their titles and a passage. "
        "Use it for 'how do I…' questions and to check BTQL syntax or functions before writing a query."
    )
    Args = SearchDocsArgs
    pages = ALL_PAGES

    async def run(self, args: SearchDocsArgs, ctx: ToolContext) -> str:
        hits = docs_index().search(args.query, args.limit)
        if not hits:
            return to_json({"results": [], "note": f"no documentation section mentions {args.query!r}"})
        return to_json({"results": [{"title": h.title, "page": h.file, "passage": h.passage} for h in hits]})
