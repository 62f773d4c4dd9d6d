"""A small Server-Sent Events parser over an async iterator of decoded lines.

Both OpenAI (`data:` only) and Anthropic (`event:` + `data:`) stream SSE. The parser follows the
WHATWG rules the two need: fields accumulate until a blank line, several `data:` lines join with
newlines, `:` lines are comments (keep-alives), and a stray `\\r` is stripped (CRLF streams).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass


@dataclass(frozen=True)
class SseEvent:
    """One dispatched event: its `event:` name (empty when absent) and joined `data:` payload."""

    event: str
    data: str


def _split_field(line: str) -> tuple[str, str]:
    name, sep, value = line.partition(":")
    if sep and value.startswith(" "):
        value = value[1:]
    return name, value


async def iter_sse(lines: AsyncIterator[str]) -> AsyncIterator[SseEvent]:
    """Turn lines (without their line endings) into events; a trailing event without a blank line is dispatched."""
    event_name = ""
    data_lines: list[str] = []
    async for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data_lines:
                yield SseEvent(event_name, "\n".join(data_lines))
            event_name, data_lines = "", []
            continue
        if line.startswith(":"):
            continue
        name, value = _split_field(line)
        if name == "data":
            data_lines.append(value)
        elif name == "event":
            event_name = value
        # `id:` and `retry:` are irrelevant for one-shot completions and are ignored.
    if data_lines:
        yield SseEvent(event_name, "\n".join(data_lines))
