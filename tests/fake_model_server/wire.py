"""Rendering scripted reply items in the OpenAI and Anthropic wire formats (SSE frames, JSON, errors)."""

from __future__ import annotations

import json
import time
from typing import Any

HTTP_FAULTS = ("401", "403", "404", "429", "500", "529", "400", "context_length")
FAULTS = (*HTTP_FAULTS, "disconnect", "malformed", "stream_error", "no_done", "stall")
_STOP_TO_ANTHROPIC = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}



def last_user_text(body: Any) -> str:
    """The text of the last user message in either wire format ('' if none)."""
    for msg in reversed(body.get("messages") or [] if isinstance(body, dict) else []):
        if msg.get("role") != "user":
            continue
        content = msg.get("content")
        if isinstance(content, str):
            return content
        texts = [
            part.get("text") or (part.get("content") if isinstance(part.get("content"), str) else "")
            for part in content or []
            if isinstance(part, dict)
        ]
        return " ".join(t for t in texts if t)
    return ""


def _pieces(text: str, size: int) -> list[str]:
    size = max(1, int(size))
    return [text[i : i + size] for i in range(0, len(text), size)] or []


def _arguments_text(call: dict[str, Any]) -> str:
    args = call.get("arguments", {})
    return args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)


def _usage(item: dict[str, Any], body: Any, completion_pieces: int) -> dict[str, int]:
    given = item.get("usage") or {}
    prompt = given.get("prompt_tokens", max(1, len(json.dumps(body.get("messages", ""))) // 4))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": given.get("completion_tokens", max(1, completion_pieces)),
        "cached_tokens": given.get("cached_tokens", 0),
        "cache_creation_tokens": given.get("cache_creation_tokens", 0),
    }


def _finish(item: dict[str, Any]) -> str:
    return item.get("finish_reason") or ("tool_calls" if item.get("tool_calls") else "stop")


# --- wire rendering: a reply item -> the list of SSE frames ------------------------------------------


def openai_frames(item: dict[str, Any], body: Any) -> list[str]:
    """The SSE frames of one chat.completion.chunk stream (ending with `data: [DONE]`)."""
    model = item.get("model") or body.get("model", "fake")
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return "data: " + json.dumps({**base, "choices": [choice], **extra}) + "\n\n"

    frames = [chunk({"role": "assistant", "content": ""})]
    text_pieces = _pieces(item.get("text", ""), item.get("chunk_size", 4))
    frames += [chunk({"content": piece}) for piece in text_pieces]
    for index, call in enumerate(item.get("tool_calls") or []):
        first = {"index": index, "id": call.get("id", f"call_fake_{index}"), "type": "function",
                 "function": {"name": call["name"], "arguments": ""}}
        frames.append(chunk({"tool_calls": [first]}))
        for piece in _pieces(_arguments_text(call), item.get("arg_chunk_size", 5)):
            frames.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    frames.append(chunk({}, _finish(item)))
    u = _usage(item, body, len(frames))
    usage = {"prompt_tokens": u["prompt_tokens"], "completion_tokens": u["completion_tokens"],
             "total_tokens": u["prompt_tokens"] + u["completion_tokens"],
             "prompt_tokens_details": {"cached_tokens": u["cached_tokens"]},
             "completion_tokens_details": {"reasoning_tokens": 0}}
    frames.append("data: " + json.dumps({**base, "choices": [], "usage": usage}) + "\n\n")
    frames.append("data: [DONE]\n\n")
    return frames


def anthropic_frames(item: dict[str, Any], body: Any) -> list[str]:
    """The SSE frames of one Messages stream (message_start … message_stop)."""

    def event(payload: dict[str, Any]) -> str:
        return f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n"

    text_pieces = _pieces(item.get("text", ""), item.get("chunk_size", 4))
    calls = item.get("tool_calls") or []
    u = _usage(item, body, len(text_pieces) + len(calls))
    input_tokens = max(u["prompt_tokens"] - u["cached_tokens"] - u["cache_creation_tokens"], 0)
    message = {"id": "msg_fake", "type": "message", "role": "assistant", "content": [],
               "model": item.get("model") or body.get("model", "fake"), "stop_reason": None, "stop_sequence": None,
               "usage": {"input_tokens": input_tokens, "cache_creation_input_tokens": u["cache_creation_tokens"],
                         "cache_read_input_tokens": u["cached_tokens"], "output_tokens": 1}}
    frames = [event({"type": "message_start", "message": message}), event({"type": "ping"})]
    index = 0
    if text_pieces:
        frames.append(event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}))
        frames += [event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}})
                   for p in text_pieces]
        frames.append(event({"type": "content_block_stop", "index": 0}))
        index = 1
    for n, call in enumerate(calls):
        block = {"type": "tool_use", "id": call.get("id", f"toolu_fake_{n}"), "name": call["name"], "input": {}}
        frames.append(event({"type": "content_block_start", "index": index, "content_block": block}))
        for piece in ["", *_pieces(_arguments_text(call), item.get("arg_chunk_size", 5))]:
            delta = {"type": "input_json_delta", "partial_json": piece}
            frames.append(event({"type": "content_block_delta", "index": index, "delta": delta}))
        frames.append(event({"type": "content_block_stop", "index": index}))
        index += 1
    stop = _STOP_TO_ANTHROPIC.get(_finish(item), _finish(item))
    frames.append(event({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                         "usage": {"output_tokens": u["completion_tokens"]}}))
    frames.append(event({"type": "message_stop"}))
    return frames


def non_streaming(wire: str, item: dict[str, Any], body: Any) -> dict[str, Any]:
    """The whole reply as one JSON body, for `stream: false` requests."""
    calls = item.get("tool_calls") or []
    u = _usage(item, body, len(item.get("text", "")) // 4 + len(calls))
    model = item.get("model") or body.get("model", "fake")
    if wire == "openai":
        message: dict[str, Any] = {"role": "assistant", "content": item.get("text") or None}
        if calls:
            message["tool_calls"] = [{"id": c.get("id", f"call_fake_{i}"), "type": "function",
                                      "function": {"name": c["name"], "arguments": _arguments_text(c)}}
                                     for i, c in enumerate(calls)]
        return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": _finish(item)}],
                "usage": {"prompt_tokens": u["prompt_tokens"], "completion_tokens": u["completion_tokens"],
                          "total_tokens": u["prompt_tokens"] + u["completion_tokens"],
                          "prompt_tokens_details": {"cached_tokens": u["cached_tokens"]}}}
    content: list[dict[str, Any]] = [{"type": "text", "text": item["text"]}] if item.get("text") else []
    content += [{"type": "tool_use", "id": c.get("id", f"toolu_fake_{i}"), "name": c["name"],
                 "input": c.get("arguments") if isinstance(c.get("arguments"), dict) else {}}
                for i, c in enumerate(calls)]
    return {"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": content,
            "stop_reason": _STOP_TO_ANTHROPIC.get(_finish(item)), "stop_sequence": None,
            "usage": {"input_tokens": u["prompt_tokens"] - u["cached_tokens"] - u["cache_creation_tokens"],
                      "output_tokens": u["completion_tokens"], "cache_read_input_tokens": u["cached_tokens"],
                      "cache_creation_input_tokens": u["cache_creation_tokens"]}}


def error_reply(wire: str, item: dict[str, Any], model: str | None, key: str | None) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) of an HTTP error fault, in the wire's error shape."""
    fault = str(item["fault"])
    table = {
        "401": (401, "authentication_error", "invalid_api_key", "Incorrect API key provided."),
        "403": (403, "permission_error", "permission_denied", "This key may not use this model."),
        "404": (404, "not_found_error", "model_not_found", f"The model `{model}` does not exist."),
        "429": (429, "rate_limit_error", "rate_limit_exceeded", "Rate limit reached, slow down."),
        "500": (500, "api_error", "server_error", "The server had an error processing your request."),
        "529": (529, "overloaded_error", "overloaded", "Overloaded"),
        "400": (400, "invalid_request_error", "invalid_request", "Invalid request."),
        "context_length": (400, "invalid_request_error", "context_length_exceeded",
                           "prompt is too long: 210000 tokens > 200000 maximum" if wire == "anthropic" else
                           "This model's maximum context length is 128000 tokens. However, your messages "
                           "resulted in 210000 tokens."),
    }
    status, a_type, o_code, message = table[fault]
    message = item.get("message", message)
    if item.get("echo_key") and key:
        message += f" Key used: {key}"
    if wire == "anthropic":
        return status, {"type": "error", "error": {"type": a_type, "message": message}}
    return status, {"error": {"message": message, "type": a_type, "param": None, "code": o_code}}


DROP = object()


def coalesce(frames: list[Any]) -> list[Any]:
    """Join consecutive text frames (keeping the drop marker in place)."""
    out: list[Any] = []
    run: list[str] = []
    for frame in frames:
        if frame is DROP:
            out += ["".join(run), DROP] if run else [DROP]
            run = []
        else:
            run.append(frame)
    if run:
        out.append("".join(run))
    return out


def apply_fault(
    fault: str | None, item: dict[str, Any], wire: str, frames: list[str], key: str | None
) -> list[Any]:
    """The frames with a stream fault applied: cut short, a bad chunk, an error event, or no finish."""
    after = int(item.get("after", 3))
    if fault == "disconnect":
        return [*frames[:after], DROP]
    if fault == "malformed":
        return [*frames[:after], 'data: {"choices": [{"delta": {"content": "oops"\n\n', DROP]
    if fault == "stream_error":
        message = item.get("message", "Overloaded") + (f" Key used: {key}" if item.get("echo_key") else "")
        error = {"type": item.get("error_type", "overloaded_error"), "message": message}
        if wire == "anthropic":
            tail = f"event: error\ndata: {json.dumps({'type': 'error', 'error': error})}\n\n"
        else:
            tail = "data: " + json.dumps({"error": error}) + "\n\n"
        return [*frames[:after], tail, DROP]
    if fault == "no_done":
        # Drop every finish marker, then close cleanly (terminating chunk) as a buggy server would.
        if wire == "openai":
            return [f for f in frames if '"finish_reason": "' not in f and "[DONE]" not in f]
        return [f for f in frames if "message_stop" not in f and "message_delta" not in f]
    return frames
