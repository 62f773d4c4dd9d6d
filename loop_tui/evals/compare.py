"""Per-row comparison of an experiment with its base, for the compare view (biggest regression first)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loop_tui.evals.rows import group_by_key, load_rows
from loop_tui.evals.stats import mean
from loop_tui.evals.summary import _score_values, previous_experiment


@dataclass
class RowDiff:
    """One row of an experiment beside its base row, for the compare view."""

    key: str
    input: Any
    expected: Any
    output: Any
    base_output: Any
    scores: dict[str, float]
    base_scores: dict[str, float]
    deltas: dict[str, float]
    error: str | None
    base_error: str | None
    root_span_id: str
    base_root_span_id: str | None
    trials: int = 1

    @property
    def worst_delta(self) -> float:
        """The most negative score change (0 when nothing regressed)."""
        return min(self.deltas.values(), default=0.0)


def compare_rows(workspace: Any, experiment_id: str, base_id: str | None = None) -> list[RowDiff]:
    """Per-row diffs against the base (default as in `summarize`), biggest regression first."""
    exp = workspace.object_by_id(experiment_id)
    if base_id is None:
        base_id = exp.data.get("base_experiment_id") or previous_experiment(workspace, exp)
    groups = group_by_key(load_rows(workspace, experiment_id))
    base_groups = group_by_key(load_rows(workspace, base_id)) if base_id else {}
    diffs = []
    for key, rows in groups.items():
        names = sorted({n for r in rows for n in r.scores})
        scores = {n: v for n in names if (v := mean(_score_values(rows, n))) is not None}
        base = base_groups.get(key)
        base_scores: dict[str, float] = {}
        if base:
            base_names = sorted({n for r in base for n in r.scores})
            base_scores = {n: v for n in base_names if (v := mean(_score_values(base, n))) is not None}
        deltas = {n: scores[n] - base_scores[n] for n in scores if n in base_scores}
        first = rows[0]
        diffs.append(
            RowDiff(
                key,
                first.input,
                first.expected,
                first.output,
                base[0].output if base else None,
                scores,
                base_scores,
                deltas,
                first.error,
                base[0].error if base else None,
                first.root_span_id,
                base[0].root_span_id if base else None,
                len(rows),
            )
        )
    diffs.sort(key=lambda d: (not d.deltas, d.worst_delta, d.key))  # unpaired rows last
    return diffs
