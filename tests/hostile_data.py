"""A workspace whose every name and text is hostile: Rich/Textual markup and terminal control sequences.

Used by the UI and CLI tests of "text from data is data" (issue 12, items 9 and 10). No tests here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Sets the terminal's title and clears the screen when written raw.
TAKEOVER = "\x1b]0;pwned\x07\x1b[2J"
# What the sanitiser shows for TAKEOVER (ESC → ␛, BEL → ␇).
TAKEOVER_SHOWN = "␛]0;pwned␇␛[2J"

PROJECT = "[/" + TAKEOVER + "proj"
DATASET = "[bold]ds[/" + TAKEOVER
EXPERIMENT = "[red]exp[/" + TAKEOVER
EXPERIMENT_B = "[b]exp-b[/" + TAKEOVER
PROMPT = "[i]prompt[/" + TAKEOVER
SCORER = "[b]scorer[/" + TAKEOVER
SPAN_NAME = "[red]span[/"
CHILD_SPAN_NAME = "[link=x]child[/link]" + TAKEOVER
INPUT = "[bold]question[/ " + TAKEOVER + " end"
ERROR = "[/]boom " + TAKEOVER + "\nat line 2"
TAG = "[u]tag[/"


def shown(text: str) -> str:
    """`text` as the app and the CLI must show it: markup literal, control characters as pictures."""
    return text.replace("\x1b", "␛").replace("\x07", "␇")


def build_hostile_workspace(path: Path) -> Any:
    """Write a workspace with one hostile project: logs with a trace, a dataset, an experiment, a prompt, a scorer."""
    from loop_tui.store import Workspace

    ws = Workspace.open(path)
    project = ws.create_project(PROJECT, {"description": "hostile " + TAKEOVER})
    start = datetime(2026, 1, 1, tzinfo=UTC)
    root = {
        "id": "root-1", "span_id": "root-1", "root_span_id": "root-1", "created": start.isoformat(),
        "input": {"question": INPUT}, "output": "answer " + TAKEOVER, "error": ERROR,
        "metadata": {"model": "gpt-4o-mini", "note": "[b]meta[/" + TAKEOVER},
        "tags": [TAG], "scores": {"[i]score[/": 0.5},
        "metrics": {"start": start.timestamp(), "end": start.timestamp() + 1.5},
        "span_attributes": {"name": SPAN_NAME, "type": "task"},
    }
    child = {
        "id": "child-1", "span_id": "child-1", "root_span_id": "root-1", "span_parents": ["root-1"],
        "created": (start + timedelta(seconds=0.1)).isoformat(),
        "input": [{"role": "user", "content": INPUT}], "output": {"content": "[/" + TAKEOVER},
        "metrics": {"start": start.timestamp() + 0.1, "end": start.timestamp() + 1.0},
        "span_attributes": {"name": CHILD_SPAN_NAME, "type": "llm"},
    }
    ws.insert_rows("project_logs", project.id, [root, child], project_id=project.id, description="hostile logs")
    dataset = ws.save_object("dataset", project.id, DATASET, {"description": "[bold]desc[/" + TAKEOVER, "metadata": {}})
    ws.insert_rows("dataset", dataset.id, [{"id": "row-1", "input": {"question": INPUT}, "expected": "[/" + TAKEOVER,
                                            "tags": [TAG], "created": start.isoformat()}],
                   project_id=project.id, description="hostile rows")
    prompt_data = {
        "messages": [{"role": "system", "content": "[b]system[/" + TAKEOVER}, {"role": "user", "content": "{{input}}"}],
        "model": "gpt-4o-mini", "params": {"temperature": 0}, "template_format": "mustache",
    }
    ws.save_object("prompt", project.id, PROMPT, prompt_data)
    ws.save_object("scorer", project.id, SCORER, {
        "type": "code", "description": "[red]scores[/" + TAKEOVER,
        "code": "def handler(input, output, expected, metadata):\n    return 1.0\n"})
    base_id = None
    for name, score, output in ((EXPERIMENT, 0.5, root["output"]), (EXPERIMENT_B, 1.0, "[/]better " + TAKEOVER)):
        experiment = ws.save_object("experiment", project.id, name, {
            "description": "[b]run[/" + TAKEOVER, "dataset_id": dataset.id, "prompt": prompt_data, "model": "gpt-4o-mini",
            "scorers": ["[i]score[/"], "metadata": {"model": "gpt-4o-mini"}, "base_experiment_id": base_id})
        rows = [{**root, "output": output, "scores": {"[i]score[/": score},
                 "origin": {"object_type": "dataset", "object_id": dataset.id, "id": "row-1"}}, child]
        # Span ids are unique per workspace: give each experiment its own.
        suffix = "" if base_id is None else "-b"
        rows = [{**r, "id": r["id"] + suffix, "span_id": r["span_id"] + suffix, "root_span_id": "root-1" + suffix,
                 **({"span_parents": ["root-1" + suffix]} if r.get("span_parents") else {})} for r in rows]
        ws.insert_rows("experiment", experiment.id, rows, project_id=project.id, description=f"experiment {name}")
        base_id = experiment.id
    return ws
