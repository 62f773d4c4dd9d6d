"""The BTQL tools on a remote page: the query text runs on Braintrust's `/btql` (`remote.remote_btql`).

Results and errors come back in the shapes the local runs give (`btql.executor.Result`, `BtqlError`), so
the tools turn them into the same tool results for the model.
"""

from __future__ import annotations

import re
from typing import Any

from loop_tui.agent.tools.base import ToolContext, ToolError

_PLAIN_NAME = re.compile(r"^[^'\\\n]+$")


def run_on_braintrust(query: str, settings: Any) -> Any:
    """One page of `query` evaluated by Braintrust, with the connection from settings and the environment."""
    from loop_tui.remote.remote_btql import run_on_braintrust as run_page

    return run_page(query, settings)


def remote_project_source(ctx: ToolContext) -> tuple[str, str]:
    """(project name, its logs as a BTQL source) for the page's Braintrust project."""
    name = ctx.page.project
    if not name:
        raise ToolError("no project is selected on this remote page; add a `from:` clause, e.g. "
                        "from: project_logs('my-project')")
    if not _PLAIN_NAME.match(name):
        raise ToolError(f"add a `from:` clause naming the project {name!r} (its name needs quoting)")
    return name, f"project_logs('{name}')"
