"""The playground's editable form of prompt messages: one block per message, headed `## role`.

    ## system
    You are a support assistant.
    ## user
    Question: {{input.question}}

Plain Python (no Textual); the mustache variables are left for `loop_tui.evals` to render.
"""

from __future__ import annotations

import json
import re
from typing import Any

ROLES = ("system", "user", "assistant")
_HEADER = re.compile(r"^##\s*(\w+)\s*$")


def messages_to_text(messages: list[dict[str, Any]]) -> str:
    """Messages as `## role` blocks."""
    return "\n".join(f"## {m.get('role', 'user')}\n{m.get('content', '')}" for m in messages)


def text_to_messages(text: str) -> tuple[list[dict[str, str]], str | None]:
    """(messages, error sentence) from `## role` blocks."""
    messages: list[dict[str, str]] = []
    body: list[str] = []
    role: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            if role is not None:
                messages.append({"role": role, "content": "\n".join(body).strip("\n")})
            role, body = header.group(1).lower(), []
            if role not in ROLES:
                return [], f"line {number}: unknown role `{role}`; use ## system, ## user or ## assistant"
        elif role is None:
            if line.strip():
                return [], f"line {number}: start with a `## system` or `## user` header"
        else:
            body.append(line)
    if role is not None:
        messages.append({"role": role, "content": "\n".join(body).strip("\n")})
    if not messages:
        return [], "the prompt has no messages; add `## user` and the text to send"
    return messages, None


def parse_params(text: str) -> tuple[dict[str, Any], str | None]:
    """(params, error sentence) from a JSON object such as {"temperature": 0.2}."""
    if not text.strip():
        return {}, None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return {}, f"params: invalid JSON at column {exc.colno}: {exc.msg}"
    if not isinstance(value, dict):
        return {}, 'params must be a JSON object, e.g. {"temperature": 0.2}'
    return value, None
