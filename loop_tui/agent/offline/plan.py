"""What the offline model plans with: the state it replies in, the calls it makes, and phrase helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from loop_tui.agent.offline import answers


@dataclass(frozen=True)
class Call:
    """A tool call the offline model makes."""

    name: str
    arguments: dict[str, Any]


@dataclass
class State:
    """What the offline model knows when it replies."""

    question: str
    page: dict[str, Any]
    offered: set[str]
    step: int = 0
    results: list[tuple[str, str]] = field(default_factory=list)
    previous_calls: list[Call] = field(default_factory=list)

    @property
    def q(self) -> str:
        return self.question.lower()

    @property
    def page_name(self) -> str:
        return str(self.page.get("page") or "logs")


Reply = str | list[Call]


def has(q: str, *patterns: str) -> bool:
    """Whether any of the regular expressions occurs in the (lower-cased) question."""
    return any(re.search(p, q) for p in patterns)


def time_filter(q: str) -> str:
    """A `created` range for phrases like 'today', 'this week', 'last 30 days' (empty when none)."""
    days = re.search(r"(?:last|past)\s+(\d{1,3})\s+days?", q)
    if days:
        return f"created > now() - interval {int(days.group(1))} day"
    if has(q, r"\btoday\b", r"24 hours", r"last day", r"yesterday"):
        return "created > now() - interval 1 day"
    if has(q, r"this week", r"last week", r"past week", r"7 days"):
        return "created > now() - interval 7 day"
    if has(q, r"this month", r"last month", r"past month", r"30 days"):
        return "created > now() - interval 30 day"
    return ""


def where(*conditions: str) -> str:
    """A ` | filter: a and b` clause of the non-empty conditions (empty when there are none)."""
    kept = [c for c in conditions if c]
    return f" | filter: {' and '.join(kept)}" if kept else ""


def group_by(q: str) -> tuple[str, str]:
    """(BTQL dimension, label) asked for: by day, hour, region, user, else model."""
    if has(q, r"\bday\b", r"daily", r"per day", r"over time", r"trend"):
        return "day(created) as day", "day"
    if has(q, r"\bhour", r"hourly"):
        return "hour(created) as hour", "hour"
    if has(q, r"region"):
        return "metadata.region as region", "region"
    if has(q, r"\buser"):
        return "metadata.user_id as user", "user"
    return "metadata.model as model", "model"


def one_shot(state: State, calls: list[Call], answer: Any) -> Reply:
    """Call the tools on the first step, answer from their results on the next."""
    missing = [c.name for c in calls if c.name not in state.offered]
    if missing:
        return answers.tool_unavailable(missing[0], state.page_name)
    if state.step == 0:
        return calls
    return answer(state)


