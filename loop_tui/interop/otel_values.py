"""Value helpers for the OpenTelemetry mapping: chat messages in the GenAI and OpenInference shapes as
OpenAI-style messages, JSON text, numbers, and nesting of flattened (`a.0.b`) attribute names."""

from __future__ import annotations

import json
import math
from typing import Any


def genai_message(message: Any) -> Any:
    """A GenAI-convention message (`{role, parts: [...]}`) in OpenAI chat shape where it fits."""
    if not isinstance(message, dict) or "parts" not in message:
        return message
    parts = as_list(message.get("parts"))
    out: dict[str, Any] = {"role": message.get("role")}
    tool_calls: list[dict[str, Any]] = []
    texts: list[dict[str, Any]] = []
    responses: list[dict[str, Any]] = []
    for part in parts:  # one pass: this runs for every message of every chat span received
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("text", "reasoning"):
            texts.append(part)
        elif kind == "tool_call":
            tool_calls.append({"id": part.get("id"), "type": "function",
                               "function": {"name": part.get("name"),
                                            "arguments": arguments_text(part.get("arguments"))}})
        elif kind == "tool_call_response":
            responses.append(part)
    if responses and len(responses) == len(parts):
        response = responses[0]
        return {"role": "tool", "tool_call_id": response.get("id"), "content": content_text(response.get("response"))}
    if len(texts) + len(tool_calls) == len(parts):
        out["content"] = parts_text(texts) if texts else None
    else:
        out["content"] = parts  # images, files, ...: keep the parts as they came
    if tool_calls:
        out["tool_calls"] = tool_calls
    if message.get("finish_reason"):
        out["finish_reason"] = message["finish_reason"]
    if message.get("name"):
        out["name"] = message["name"]
    return out


def openinference_message(item: dict[str, Any]) -> dict[str, Any]:
    """`{"message": {"role", "content", "tool_calls": [...]}}` (unflattened) as an OpenAI chat message."""
    message = item.get("message", item)
    if not isinstance(message, dict):
        return {"content": message}
    out: dict[str, Any] = {"role": message.get("role"), "content": message.get("content")}
    if out["content"] is None and isinstance(message.get("contents"), list):
        out["content"] = [c.get("message_content", c) for c in message["contents"] if isinstance(c, dict)]
    calls = message.get("tool_calls")
    if isinstance(calls, list) and calls:
        out["tool_calls"] = [
            {"id": c.get("tool_call", {}).get("id"), "type": "function",
             "function": c.get("tool_call", {}).get("function", {})}
            for c in calls if isinstance(c, dict)
        ]
    if message.get("tool_call_id"):
        out["tool_call_id"] = message["tool_call_id"]
    if message.get("name"):
        out["name"] = message["name"]
    return out


def flat_message(item: dict[str, Any]) -> dict[str, Any]:
    """OpenLLMetry's `gen_ai.prompt.0.role`/`.content` (unflattened) as a chat message."""
    return {k: v for k, v in item.items() if v is not None}


def parts_text(parts: list[Any]) -> str:
    return "".join(str(p.get("content", "")) if isinstance(p, dict) else str(p) for p in parts)


def arguments_text(value: Any) -> Any:
    return value if isinstance(value, str) or value is None else json.dumps(value, ensure_ascii=False)


def content_text(value: Any) -> Any:
    return value if isinstance(value, str) or value is None else json.dumps(value, ensure_ascii=False)


def mime_value(value: Any, mime: Any) -> Any:
    """OpenInference `input.value`: JSON text when its mime type says so (or it plainly is a JSON object)."""
    if isinstance(value, str) and (mime == "application/json" or value[:1] in "{["):
        return json_value(value)
    return value



def set_path(target: dict[str, Any], dotted: str, value: Any) -> None:
    """Nest `a.b.c` = value, with the OpenInference rule that a numeric segment is a list index."""
    parts = dotted.split(".")
    node = target
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def listify(node: Any) -> Any:
    """Dicts whose keys are all indices become lists (`tool_calls.0.tool_call...`)."""
    if not isinstance(node, dict):
        return node
    if node and all(k.isdigit() for k in node):
        return [listify(node[k]) for k in sorted(node, key=int)]
    return {k: listify(v) for k, v in node.items()}


def first(attrs: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = attrs.get(key)
        if value is not None and value != "":
            return value
    return None


def number(value: Any) -> float | None:
    """A finite number from an attribute value (int, float or numeric text); None for anything else.

    NaN and infinities count as absent: a token count of "nan" otherwise broke the cost estimate.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, str)):
        try:
            parsed = float(value)
        except (ValueError, OverflowError):
            return None
        return parsed if math.isfinite(parsed) else None
    return None


def json_value(value: Any) -> Any:
    """JSON text parsed; anything else (or text that is not JSON) as it is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    return value


def json_object(value: Any) -> dict[str, Any] | None:
    parsed = json_value(value)
    return parsed if isinstance(parsed, dict) else None


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
