"""What the offline model answers on each page, in words: the chat header lists it on every page.

Kept apart from the offline model itself (`loop_tui.agent.offline`, whose analytics take ~0.1 s to import):
the header is drawn while the first page mounts, on the UI thread, and needs only these lists.
"""

from __future__ import annotations

PAGE_ABILITIES = {
    "logs": ["the most common errors", "error rate by model or by day", "token usage or cost by model or by day",
             "the slowest requests", "a summary of the logs", "requests like \"refund\""],
    "experiments": ["summarise this experiment", "what regressed", "rows like \"refund\""],
    "datasets": ["summarise this dataset", "rows like \"refund\""],
    "playground": ["summarise the playground and its last run", "rows like \"refund\""],
    "btql": ["explain this query", "fix this query (using the error's hint)",
             "edits like \"group this by model\" or \"add a filter for the last 7 days\""],
    "settings": [],
}
"""The chat header's short list of what the offline model answers on each page (the most asked)."""

ALL_ABILITIES = PAGE_ABILITIES | {
    "logs": ["the most common errors (grouped by exception)", "the most recent errors",
             "errors and error rate by model, span name, day or user", "latency percentiles by model or span name",
             "token usage or cost by model or by day", "the slowest requests", "the most common inputs",
             "active users by day or week", "retention by day or week", "a summary of the logs",
             "requests like \"refund\""],
    "btql": [*PAGE_ABILITIES["btql"][:2], "convert this to percentiles", "filter out rows where metadata.model is null",
             "add a filter for the last 7 days", "group this by model"],
}
"""Everything the offline model answers on each page: what it lists when asked something else."""
