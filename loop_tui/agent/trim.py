"""Keep what is sent to the model inside its context window, and tool results inside their budget.

Tokens are estimated as characters / 4 (close enough for English and JSON, and it needs no tokenizer).
When a conversation grows too long we first elide old tool results (the model can call the tool again),
then fold the oldest turns into a short written summary, always cutting at a user turn so a tool call is
never separated from its result.
"""

from __future__ import annotations

import json
from typing import Any

CHARS_PER_TOKEN = 4
ELIDED = "[older tool result removed to fit the context window; call the tool again if you need it]"


def estimate_tokens(value: Any) -> int:
    """Rough token count of a string or JSON-like value."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return len(text) // CHARS_PER_TOKEN + 4


def cut_output(text: str, max_tokens: int) -> str:
    """`text` cut to about `max_tokens`, with a note saying how much was left out."""
    limit = max_tokens * CHARS_PER_TOKEN
    if len(text) <= limit:
        return text
    total = estimate_tokens(text)
    return (
        text[:limit]
        + f"\n[output cut to about {max_tokens} of {total} tokens; ask for fewer rows or fields "
        "(filter, limit, offset) to see the rest]"
    )


def _summary(dropped: list[dict[str, Any]], max_chars: int) -> str:
    lines = ["Summary of the earlier part of this conversation (trimmed to fit the context window):"]
    for msg in dropped:
        role = msg.get("role")
        if role == "user":
            lines.append(f"- The user said: {str(msg.get('content', ''))[:300]}")
        elif role == "assistant":
            calls = [c.get("name", "?") for c in msg.get("tool_calls") or []]
            if msg.get("content"):
                lines.append(f"- Loop answered: {str(msg['content'])[:300]}")
            if calls:
                lines.append(f"- Loop called: {', '.join(calls)}")
    text = "\n".join(lines)
    if len(text) > max_chars:
        text = text[: max_chars - 40] + "\n- (older turns omitted)"
    return text


def fit_messages(history: list[dict[str, Any]], budget_tokens: int) -> list[dict[str, Any]]:
    """The conversation (no system message) made to fit `budget_tokens`, newest turns kept intact."""
    if sum(estimate_tokens(m) for m in history) <= budget_tokens:
        return history
    last_user = max((i for i, m in enumerate(history) if m.get("role") == "user"), default=0)
    elided = [
        {**m, "content": ELIDED} if m.get("role") == "tool" and i < last_user and len(str(m.get("content"))) > 400 else m
        for i, m in enumerate(history)
    ]
    if sum(estimate_tokens(m) for m in elided) <= budget_tokens:
        return elided
    # Keep the newest turns that fit in most of the budget, starting at a user message.
    keep_budget = int(budget_tokens * 0.75)
    used, start = 0, len(elided)
    for i in range(len(elided) - 1, -1, -1):
        used += estimate_tokens(elided[i])
        if used > keep_budget:
            break
        if elided[i].get("role") == "user":
            start = i
    if start == len(elided):  # not even the last turn fits: keep it and shrink its long strings
        start = last_user
    result = list(elided[start:])
    if start:
        # Fold the summary into the first kept user turn (some APIs reject two user turns in a row).
        summary = _summary(elided[:start], int(budget_tokens * 0.2) * CHARS_PER_TOKEN)
        result[0] = {**result[0], "content": f"{summary}\n\nThe user now says: {result[0].get('content', '')}"}
    while sum(estimate_tokens(m) for m in result) > budget_tokens:
        longest = max(range(len(result)), key=lambda i: len(str(result[i].get("content") or "")))
        content = str(result[longest].get("content") or "")
        if len(content) < 200:
            break
        result[longest] = {**result[longest], "content": content[: len(content) // 2] + "\n[cut to fit the context window]"}
    return result
