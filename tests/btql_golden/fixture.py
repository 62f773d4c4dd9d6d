"""The fixed, hand-written workspace every BTQL test runs against (not the random demo data).

Project `alpha`: three log traces (t1 an hour ago, t2 two days ago, t3 ten days ago), experiments `exp-a` and
`exp-b` (fixed 2024 timestamps, for time buckets), dataset `golden`, a prompt and a scorer. Project `beta`
has one log span and another experiment named `exp-a` (for ambiguous-name tests).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from loop_tui import clock
from tests.conftest import SAMPLE_NOW

# Relative to the suite's frozen clock (tests/conftest.py), which is what `now()` in BTQL reads.
NOW = clock.parse_instant(SAMPLE_NOW, source="SAMPLE_NOW")


def _t(**kw) -> str:
    return (NOW - timedelta(**kw)).isoformat()


LOGS = [
    # trace s1 (1 hour ago): task -> llm, score
    {"id": "s1", "span_id": "s1", "root_span_id": "s1", "span_parents": [], "created": _t(hours=1),
     "input": {"question": "How do I reset my password?"}, "output": "Click 'Forgot password' on the sign-in page.",
     "metadata": {"model": "gpt-4o", "user_id": "u1", "n": 5, "region": "us-east", "is_production": True, "mixed": "x"},
     "scores": {"Factuality": 0.9, "Relevance": 0.8}, "tags": ["prod", "needs-review"],
     "metrics": {"start": 1000.0, "end": 1004.0, "prompt_tokens": 100, "completion_tokens": 20, "tokens": 120},
     "span_attributes": {"name": "chat", "type": "task"}},
    {"id": "s2", "span_id": "s2", "root_span_id": "s1", "span_parents": ["s1"], "created": _t(hours=1, seconds=-1),
     "input": [{"role": "user", "content": "reset my password"}], "output": {"content": "Click Forgot password"},
     "metadata": {"model": "gpt-4o", "mixed": 2},
     "metrics": {"start": 1001.0, "end": 1003.0, "prompt_tokens": 100, "completion_tokens": 20, "tokens": 120},
     "span_attributes": {"name": "llm-call", "type": "llm"}},
    {"id": "s3", "span_id": "s3", "root_span_id": "s1", "span_parents": ["s1"], "created": _t(hours=1, seconds=-2),
     "scores": {"Factuality": 0.9}, "span_attributes": {"name": "Factuality", "type": "score", "purpose": "scorer"},
     "metrics": {"start": 1003.5, "end": 1004.0}},
    # trace s4 (2 days ago): task (error object) -> llm (error string), tool
    {"id": "s4", "span_id": "s4", "root_span_id": "s4", "span_parents": [], "created": _t(days=2),
     "input": {"question": "Where is my order #123?"}, "error": {"type": "timeout", "message": "upstream timed out"},
     "metadata": {"model": "gpt-4o-mini", "user_id": "u2", "n": 7, "region": "eu-west", "is_production": True},
     "scores": {"Factuality": 0.2}, "tags": ["prod"],
     "metrics": {"start": 2000.0, "end": 2010.0, "prompt_tokens": 50, "completion_tokens": 0, "tokens": 50},
     "span_attributes": {"name": "chat", "type": "task"}},
    {"id": "s5", "span_id": "s5", "root_span_id": "s4", "span_parents": ["s4"], "created": _t(days=2, seconds=-1),
     "error": "rate limited", "metadata": {"model": "gpt-4o-mini"},
     "metrics": {"start": 2001.0, "end": 2002.0, "prompt_tokens": 50, "completion_tokens": 0, "tokens": 50},
     "span_attributes": {"name": "llm-call", "type": "llm"}},
    {"id": "s6", "span_id": "s6", "root_span_id": "s4", "span_parents": ["s4"], "created": _t(days=2, seconds=-2),
     "input": {"order_id": "123"}, "output": {"status": "shipped", "items": ["book", "pen"]},
     "metrics": {"start": 2002.0, "end": 2005.0}, "span_attributes": {"name": "lookup_order", "type": "tool"}},
    # trace s7 (10 days ago): task -> llm
    {"id": "s7", "span_id": "s7", "root_span_id": "s7", "span_parents": [], "created": _t(days=10),
     "input": "hello world", "output": "Hi there! How can I help?",
     "metadata": {"model": "claude-3-5-sonnet", "user_id": "u3", "n": 1, "region": "us-east", "is_production": False,
                  "mixed": 3},
     "scores": {"Factuality": 0.5, "Relevance": None}, "tags": ["resolved"],
     "metrics": {"start": 3000.0, "end": 3001.0, "prompt_tokens": 10, "completion_tokens": 5, "tokens": 15,
                 "estimated_cost": 0.5},
     "span_attributes": {"name": "chat", "type": "task"}, "classifications": {"Task": [{"id": "c1", "label": "greeting"}]}},
    {"id": "s8", "span_id": "s8", "root_span_id": "s7", "span_parents": ["s7"], "created": _t(days=10, seconds=-1),
     "input": [{"role": "user", "content": "hello world"}], "output": {"content": "Hi there!"},
     "metadata": {"model": "claude-3-5-sonnet"},
     "metrics": {"start": 3000.2, "end": 3000.9, "prompt_tokens": 1000000, "completion_tokens": 1000000,
                 "tokens": 2000000},
     "span_attributes": {"name": "llm-call", "type": "llm"}},
]

EXP_A = [
    {"id": "ea1", "created": "2024-01-15T10:30:00Z", "input": {"q": "2+2"}, "output": "4", "expected": "4",
     "scores": {"ExactMatch": 1.0}, "metadata": {"model": "gpt-4o"}, "span_attributes": {"name": "eval", "type": "eval"},
     "metrics": {"start": 1.0, "end": 2.0}},
    {"id": "ea2", "created": "2024-01-16T23:30:00Z", "input": {"q": "3+3"}, "output": "5", "expected": "6",
     "scores": {"ExactMatch": 0.0}, "metadata": {"model": "gpt-4o-mini"},
     "span_attributes": {"name": "eval", "type": "eval"}, "metrics": {"start": 1.0, "end": 4.0}},
]
EXP_B = [
    {"id": "eb1", "created": "2024-01-15T12:00:00Z", "input": {"q": "2+2"}, "output": "4", "expected": "4",
     "scores": {"ExactMatch": 1.0}, "metadata": {"model": "gpt-4o"}, "span_attributes": {"name": "eval", "type": "eval"}},
    {"id": "eb2", "created": "2024-01-22T08:00:00Z", "input": {"q": "3+3"}, "output": "6", "expected": "6",
     "scores": {"ExactMatch": 1.0}, "metadata": {"model": "gpt-4o"}, "span_attributes": {"name": "eval", "type": "eval"}},
]
DATASET = [
    {"id": "d1", "created": "2024-02-01T00:00:00Z", "input": {"q": "2+2"}, "expected": "4", "tags": ["math"],
     "metadata": {"difficulty": "easy"}},
    {"id": "d2", "created": "2024-02-02T00:00:00Z", "input": {"q": "capital of France"}, "expected": "Paris",
     "tags": ["geo"], "metadata": {"difficulty": "medium"}},
    {"id": "d3", "created": "2024-02-03T00:00:00Z", "input": {"q": "sqrt(2)"}, "expected": "1.414",
     "metadata": {"difficulty": "hard"}},
]


def build(path: Path):
    """Create the fixture workspace at `path` and return it."""
    from loop_tui.store import Workspace

    ws = Workspace.open(path)
    alpha = ws.create_project("alpha")
    beta = ws.create_project("beta")
    ws.insert_rows("project_logs", alpha.id, LOGS, project_id=alpha.id)
    ea = ws.save_object("experiment", alpha.id, "exp-a", {"description": "baseline"})
    eb = ws.save_object("experiment", alpha.id, "exp-b", {"description": "candidate", "base_experiment_id": ea.id})
    ws.insert_rows("experiment", ea.id, EXP_A, project_id=alpha.id)
    ws.insert_rows("experiment", eb.id, EXP_B, project_id=alpha.id)
    ds = ws.save_object("dataset", alpha.id, "golden", {"description": "hand-made"})
    ws.insert_rows("dataset", ds.id, DATASET, project_id=alpha.id)
    ws.save_object("prompt", alpha.id, "answer", {"messages": [{"role": "user", "content": "{{input}}"}], "model": "gpt-4o"})
    ws.save_object("scorer", alpha.id, "judge", {"type": "llm", "description": "a judge"})
    ws.insert_rows("project_logs", beta.id, [{"id": "b1", "created": _t(hours=3), "input": "beta row",
                                               "metadata": {"model": "gpt-4o"}}], project_id=beta.id)
    eb2 = ws.save_object("experiment", beta.id, "exp-a", {"description": "beta's exp-a"})
    ws.insert_rows("experiment", eb2.id, [{"id": "x1", "created": "2024-03-01T00:00:00Z", "output": "beta"}],
                   project_id=beta.id)
    return ws
