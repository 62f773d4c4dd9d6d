"""Tune scorer, the data side: the rows and scorers to label, and the request Loop gets (no Textual)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loop_tui.errors import UserError
from loop_tui.ui.loop.agreement import Agreement, agreement, classify

if TYPE_CHECKING:
    from loop_tui.agent import PageContext
    from loop_tui.store import Workspace

MAX_ROWS = 40
PREVIEW = 60


@dataclass
class TunableScorer:
    """A saved project scorer and the labels a person can give (pass/fail, or the judge's choices)."""

    name: str
    data: dict[str, Any]
    xact_id: int
    labels: list[tuple[str, float]]
    id: str = ""
    project_id: str = ""


@dataclass
class TuneData:
    """An experiment's rows with their scores, and the scorers that scored them."""

    project_id: str
    experiment: str
    rows: list[dict[str, Any]]
    scorers: list[TunableScorer]


@dataclass
class TuneRequest:
    """What the user labelled: rows the scorer got wrong, the right label for them, extra instructions."""

    scorer: TunableScorer
    rows: list[dict[str, Any]]
    wrong_ids: list[str]
    desired: float
    instructions: str = ""
    label_values: list[float] = field(default_factory=list)

    def truth(self) -> list[float]:
        """The label of every row: `desired` where the user said wrong, else the scorer's own class."""
        values = self.label_values or [v for _, v in self.scorer.labels]
        out = []
        for row in self.rows:
            if row["id"] in self.wrong_ids:
                out.append(self.desired)
            else:
                current = classify(score_of(row, self.scorer.name), values)
                out.append(self.desired if current is None else current)
        return out

    def before(self) -> Agreement:
        """Agreement of the current scores with the labels."""
        values = [v for _, v in self.scorer.labels]
        return agreement([score_of(r, self.scorer.name) for r in self.rows], self.truth(), values)


def missing_scores(data: TuneData) -> list[TunableScorer]:
    """Scorers that did not score this experiment (their current scores must be computed to compare)."""
    return [s for s in data.scorers if not any(score_of(r, s.name) is not None for r in data.rows)]


def score_of(row: dict[str, Any], name: str) -> float | None:
    """A row's score for scorer `name` (None when absent or skipped)."""
    value = (row.get("scores") or {}).get(name)
    return float(value) if isinstance(value, int | float) else None


def label_options(data: dict[str, Any]) -> list[tuple[str, float]]:
    """The labels for a scorer: an LLM judge's choices with their scores, else pass (1) / fail (0)."""
    choices = data.get("choice_scores") if data.get("type") == "llm" else None
    if isinstance(choices, dict) and choices:
        return sorted(((str(k), float(v)) for k, v in choices.items()), key=lambda kv: -kv[1])
    return [("pass", 1.0), ("fail", 0.0)]


def gather(workspace: Workspace, ctx: PageContext) -> TuneData:
    """The page's experiment (or the playground's last run, or the newest one) and its tunable scorers."""
    from loop_tui.store.schema import row_to_braintrust

    projects = workspace.projects()
    if ctx.project:
        project = workspace.project(ctx.project)
    elif len(projects) == 1:
        project = projects[0]
    else:
        raise UserError("pick a project first (ctrl+o), then tune a scorer")
    experiments = workspace.objects("experiment", project.id)
    chosen = None
    if ctx.experiment_id:
        chosen = workspace.get_object("experiment", project.id, ctx.experiment_id)
    elif ctx.playground_id:
        chosen = next((e for e in experiments if ctx.playground_id in
                       (e.data.get("playground_id"), (e.data.get("metadata") or {}).get("playground_id"))), None)
    chosen = chosen or (experiments[0] if experiments else None)
    if chosen is None:
        raise UserError(f"project {project.name} has no experiment to label yet: run the playground first")
    raw = workspace.query(
        "SELECT * FROM experiment WHERE experiment_id = ? AND is_root ORDER BY created, id LIMIT ?", [chosen.id, MAX_ROWS]
    )
    rows = [row_to_braintrust("experiment", r) for r in raw]
    scorers = [TunableScorer(o.name, dict(o.data), o.xact_id, label_options(o.data), o.id, o.project_id)
               for o in workspace.objects("scorer", project.id)]
    if not scorers:
        raise UserError(f"project {project.name} has no saved scorer to tune (built-in scorers cannot be edited); "
                        "ask Loop to create one first")
    return TuneData(project.id, chosen.name, rows, scorers)


def preview(value: Any, limit: int = PREVIEW) -> str:
    """A short one-line rendering of a JSON value."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def tune_prompt(request: TuneRequest) -> str:
    """The request Loop gets: the scorer, the rows it got wrong with the right label, the instructions."""
    label = next((n for n, v in request.scorer.labels if v == request.desired), str(request.desired))
    wrong = [r for r in request.rows if r["id"] in request.wrong_ids]
    lines = [
        f"Tune the scorer `{request.scorer.name}`: it scored these {len(wrong)} rows wrong; the right label for "
        f"each is `{label}` (score {request.desired:g}).",
        "",
        "Current definition:",
        "```json",
        json.dumps(request.scorer.data, indent=2, ensure_ascii=False)[:4000],
        "```",
        "",
        "Rows scored wrong:",
    ]
    for row in wrong:
        lines.append(f"- id {row['id']}: score {score_of(row, request.scorer.name)}; input {preview(row.get('input'), 200)}; "
                     f"output {preview(row.get('output'), 200)}; expected {preview(row.get('expected'), 200)}")
    if request.instructions.strip():
        lines += ["", f"Instructions: {request.instructions.strip()}"]
    tool = "create_llm_judge_scorer" if request.scorer.data.get("type") == "llm" else "create_code_scorer"
    from loop_tui.agent.tools.scorer_trial import (
        MAX_TEST_ROWS,  # the agent loads on first use, not at start-up
    )

    ids = json.dumps([r["id"] for r in wrong][:MAX_TEST_ROWS])
    lines += ["", f"Update the scorer with {tool} under the same name `{request.scorer.name}` so it gives these rows "
              "the right label without breaking the others. Before proposing it, you may try your definition with "
              f"test_scorer and row_ids {ids} (the user confirms that trial first)."]
    return "\n".join(lines)
