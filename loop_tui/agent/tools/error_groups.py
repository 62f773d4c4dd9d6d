"""Grouping log errors by the exception they report, the way Sentry-style grouping does.

The Braintrust SDK logs an exception as its whole Python traceback, so grouping by the error text gives one
group per traceback variant (a line number, a request id, a path or a model name differs). An error's
*signature* is its exception line (the last line of a traceback: type and message) with numbers, ids,
hex, quoted values and paths replaced by placeholders; errors with one signature are one group, shown with
a real example. `group_errors` is the one grouping used by Loop's tools and the offline model.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE)
_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][\w.@~+-]+){2,}[\\/]?|\b[\w.-]+\.(?:py|js|ts|json|txt|csv)\b")
_QUOTED = re.compile(r"(?<!\w)'[^'\n]{0,200}'(?!\w)|(?<!\w)\"[^\"\n]{0,200}\"(?!\w)")
_URL = re.compile(r"\bhttps?://\S+")
# A word holding a digit (gpt-4o, req_81f3, v2, 128000, 20s, 1.5) is a value, not part of the message's shape.
_VALUE_WORD = re.compile(r"(?<![\w‹])[\w.-]*\d[\w.:-]*(?![\w›])")
_EXCEPTION = re.compile(r"^(?P<type>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Timeout|Fault|Failure)"
                        r"|[A-Z][\w.]*)(?::\s*(?P<message>.*))?$")
_TRACEBACK_NOISE = ("Traceback (most recent call last)", "During handling of the above exception",
                    "The above exception was the direct cause")


def error_text(value: Any) -> str:
    """The error value of a row as text (the store keeps JSON text; objects are shown as JSON)."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except (json.JSONDecodeError, ValueError):
            if value.startswith('"'):  # JSON text of a string, cut for a preview: undo its escapes
                return value[1:].removesuffix('"').replace("\\n", "\n").replace('\\"', '"')
            return value
        value = decoded
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("message"), str):
        kind = value.get("type") or value.get("name")
        return f"{kind}: {value['message']}" if isinstance(kind, str) and kind else value["message"]
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def exception_line(text: str) -> str:
    """The line naming the exception: a traceback's last unindented line, else the error's first line."""
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    if any(line.startswith(_TRACEBACK_NOISE) for line in lines):
        for line in reversed(lines):
            if not line[0].isspace() and not line.startswith(_TRACEBACK_NOISE) and _EXCEPTION.match(line):
                return line.strip()
    return lines[0].strip()


def normalise(message: str) -> str:
    """The message's shape: ids, numbers, paths, URLs and quoted values replaced by placeholders."""
    out = _URL.sub("‹url›", message)
    out = _UUID.sub("‹id›", out)
    out = _PATH.sub("‹path›", out)
    out = _QUOTED.sub("‹value›", out)
    out = _VALUE_WORD.sub("‹n›", out)
    return re.sub(r"\s+", " ", out).strip()


def signature(text: str) -> tuple[str, str]:
    """(exception type, normalised message) of an error's text: what errors of one group share."""
    line = exception_line(text)
    match = _EXCEPTION.match(line)
    if match and (match.group("message") is not None or "." in match.group("type") or line == match.group("type")):
        kind = match.group("type").rsplit(".", 1)[-1]  # openai.RateLimitError and RateLimitError are one type
        return kind, normalise(match.group("message") or "")
    return "", normalise(line)


@dataclass
class ErrorGroup:
    """Errors with one signature: how many, the newest, and one real example."""

    type: str
    message: str
    count: int = 0
    variants: int = 0
    last_seen: Any = None
    example: str = ""
    example_id: str | None = None
    _example_count: int = field(default=-1, repr=False)

    @property
    def title(self) -> str:
        """`Type: normalised message` (just one of them when the other is empty)."""
        return ": ".join(p for p in (self.type, self.message) if p) or "(empty error)"

    def to_dict(self, example_chars: int = 600) -> dict[str, Any]:
        """A JSON-friendly summary; a long example keeps its head and its last lines (the exception)."""
        example = self.example
        if len(example) > example_chars:
            example = example[: example_chars // 3] + "\n…\n" + example[-(2 * example_chars) // 3 :]
        return {"error": self.title, "type": self.type or None, "count": self.count, "variants": self.variants,
                "last_seen": None if self.last_seen is None else str(self.last_seen),
                "example": example, "example_id": self.example_id}


def group_errors(rows: list[dict[str, Any]]) -> list[ErrorGroup]:
    """Group rows of {error, n, last_seen?, example_id?} (one per distinct error text) by signature.

    Groups come back largest first; each keeps the most frequent text as its example.
    """
    groups: dict[tuple[str, str], ErrorGroup] = {}
    for row in rows:
        text = error_text(row.get("error"))
        count = int(row.get("n") or 0)
        kind, message = signature(text)
        group = groups.setdefault((kind, message), ErrorGroup(kind, message))
        group.count += count
        group.variants += 1
        seen = row.get("last_seen")
        if seen is not None and (group.last_seen is None or seen > group.last_seen):
            group.last_seen = seen
        if count > group._example_count:
            group.example, group.example_id, group._example_count = text, row.get("example_id"), count
    return sorted(groups.values(), key=lambda g: (-g.count, g.title))


def error_groups_query(source: str | None, where: str = "") -> str:
    """The BTQL query whose rows `group_errors` takes: one row per distinct error text (no `from` without a source)."""
    condition = f"error != null and ({where})" if where else "error != null"
    origin = f" | from: {source}" if source else ""
    return (f"dimensions: error | measures: count(1) as n, max(created) as last_seen, min(id) as example_id "
            f"| filter: {condition}{origin} | sort: n desc")
