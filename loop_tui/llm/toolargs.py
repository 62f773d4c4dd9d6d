"""Parsing a streamed tool call's argument JSON, with a sentence for the model when it is broken."""

from __future__ import annotations

import json
from typing import Any


def parse_arguments(raw: str, tool_name: str) -> tuple[dict[str, Any], str | None]:
    """(arguments, None) for a JSON object (empty text means `{}`); ({}, error sentence) otherwise."""
    if not raw.strip():
        return {}, None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        return {}, (
            f"the arguments for tool '{tool_name}' are not valid JSON ({exc.msg} at character {exc.pos}); "
            "send the call again with a complete JSON object"
        )
    if not isinstance(value, dict):
        return {}, f"the arguments for tool '{tool_name}' must be a JSON object, not {type(value).__name__}"
    return value, None
