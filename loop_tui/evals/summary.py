"""Experiment summaries and comparison against a base experiment.

Per score: mean (skipped `None` scores left out), and against the base: the paired diff, improvements,
regressions and a paired bootstrap 95% CI of the diff. Rows pair by dataset row id (`origin.id`, else
`metadata.dataset_row`), else by input; with trials each row's scores are averaged first and their
spread is reported as flakiness. Metrics (duration p50/p95, tokens, cost): lower is better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from loop_tui.evals.rows import ExpRow, group_by_key, load_rows
from loop_tui.evals.stats import bootstrap_ci, mean, percentile, spread

EPS = 1e-9
# name -> (unit, how a row's value is aggregated); all are "lower is better".
METRICS: dict[str, str] = {
    "duration": "s",
    "duration_p50": "s",
    "duration_p95": "s",
    "time_to_first_token": "s",
    "prompt_tokens": "tok",
    "completion_tokens": "tok",
    "total_tokens": "tok",
    "estimated_cost": "$",
    "errors": "",
}


@dataclass
class ScoreSummary:
    """One score of an experiment, compared with the base when there is one."""

    name: str
    score: float | None
    n: int
    n_skipped: int = 0
    diff: float | None = None
    improvements: int = 0
    regressions: int = 0
    ci_low: float | None = None
    ci_high: float | None = None
    base_score: float | None = None
    flakiness: float | None = None  # mean range across trials of a row, when there are trials

    @property
    def mean(self) -> float | None:
        """Alias of `score` (the mean over rows that have this score)."""
        return self.score


@dataclass
class MetricSummary:
    """One metric (lower is better); `diff` is relative to the base value."""

    name: str
    value: float | int | None
    unit: str
    diff: float | None = None
    improvements: int = 0
    regressions: int = 0


@dataclass
class ExperimentSummary:
    """The summary of an experiment (and its comparison with a base)."""

    experiment_id: str
    experiment_name: str
    base_id: str | None
    base_name: str | None
    rows: int
    errors: int
    scores: dict[str, ScoreSummary] = field(default_factory=dict)
    metrics: dict[str, MetricSummary] = field(default_factory=dict)
    totals: dict[str, float] = field(default_factory=dict)
    flaky_rows: list[dict[str, Any]] = field(default_factory=list)
    #: scorer name -> (rows where it failed, the first error message)
    scorer_errors: dict[str, tuple[int, str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The `loop-tui eval --format json` shape."""
        return {
            "experiment": {"id": self.experiment_id, "name": self.experiment_name},
            "base": {"id": self.base_id, "name": self.base_name} if self.base_id else None,
            "rows": self.rows,
            "errors": self.errors,
            "scores": {
                name: {
                    "mean": s.score,
                    "diff": s.diff,
                    "improvements": s.improvements,
                    "regressions": s.regressions,
                    "ci_low": s.ci_low,
                    "ci_high": s.ci_high,
                }
                for name, s in self.scores.items()
            },
            "metrics": {
                name: {"value": m.value, "unit": m.unit, "diff": m.diff} for name, m in self.metrics.items()
            },
        }

    def __str__(self) -> str:
        from loop_tui.evals.report import format_summary

        return format_summary(self)


def _score_values(rows: list[ExpRow], name: str) -> list[float]:
    return [value for r in rows if (value := r.scores.get(name)) is not None]


def _per_key_score(groups: dict[str, list[ExpRow]], name: str) -> dict[str, float]:
    out = {}
    for key, rows in groups.items():
        values = _score_values(rows, name)
        if values:
            out[key] = sum(values) / len(values)
    return out


def _row_metric(rows: list[ExpRow], name: str) -> float | None:
    values = [r.metrics[name] for r in rows if r.metrics.get(name) is not None]
    return mean(values)


def _metric_value(rows: list[ExpRow], name: str) -> float | int | None:
    if name == "errors":
        return sum(1 for r in rows if r.error)
    source = "duration" if name.startswith("duration") else name
    values = [r.metrics[source] for r in rows if r.metrics.get(source) is not None]
    if name == "duration_p50":
        return percentile(values, 0.5)
    if name == "duration_p95":
        return percentile(values, 0.95)
    return mean(values)


def _compare_scores(
    summary: ScoreSummary, new: dict[str, list[ExpRow]], base: dict[str, list[ExpRow]]
) -> None:
    new_means, base_means = _per_key_score(new, summary.name), _per_key_score(base, summary.name)
    paired = [k for k in new_means if k in base_means]
    base_values = [v for rows in base.values() for v in _score_values(rows, summary.name)]
    summary.base_score = mean(base_values)
    if not paired:
        return
    diffs = [new_means[k] - base_means[k] for k in paired]
    summary.diff = math.fsum(diffs) / len(diffs)
    summary.improvements = sum(1 for d in diffs if d > EPS)
    summary.regressions = sum(1 for d in diffs if d < -EPS)
    summary.ci_low, summary.ci_high = bootstrap_ci(diffs, seed=f"loop-tui:{summary.name}")


def _compare_metric(
    metric: MetricSummary,
    new_rows: list[ExpRow],
    base_rows: list[ExpRow],
    new: dict[str, list[ExpRow]],
    base: dict[str, list[ExpRow]],
) -> None:
    base_value = _metric_value(base_rows, metric.name)
    if metric.value is not None and base_value:
        metric.diff = (metric.value - base_value) / base_value
    elif metric.value is not None and base_value == 0:
        metric.diff = 0.0 if metric.value == 0 else None
    if metric.name in ("errors", "duration_p50", "duration_p95"):
        return
    source = metric.name
    for key, rows in new.items():
        if key not in base:
            continue
        a, b = _row_metric(rows, source), _row_metric(base[key], source)
        if a is None or b is None:
            continue
        if a < b - EPS:
            metric.improvements += 1  # lower is better
        elif a > b + EPS:
            metric.regressions += 1


def summarize(workspace: Any, experiment_id: str, base_id: str | None = None) -> ExperimentSummary:
    """Summarise an experiment and compare it with `base_id` (default: its recorded base, else the previous
    experiment on the same dataset)."""
    exp = workspace.object_by_id(experiment_id)
    if base_id is None:
        base_id = exp.data.get("base_experiment_id") or previous_experiment(workspace, exp)
    base = workspace.object_by_id(base_id) if base_id else None
    rows = load_rows(workspace, exp.id)
    base_rows = load_rows(workspace, base.id) if base else []
    groups, base_groups = group_by_key(rows), group_by_key(base_rows)
    summary = ExperimentSummary(
        exp.id,
        exp.name,
        base.id if base else None,
        base.name if base else None,
        rows=len(rows),
        errors=sum(1 for r in rows if r.error),
    )
    names = sorted({n for r in rows for n in r.scores})
    for name in names:
        values = _score_values(rows, name)
        skipped = sum(1 for r in rows if name in r.scores and r.scores[name] is None)
        score = ScoreSummary(name, mean(values), len(values), skipped)
        if base:
            _compare_scores(score, groups, base_groups)
        spreads = [
            spread(v)["range"] for v in (_score_values(g, name) for g in groups.values()) if len(v) > 1
        ]
        score.flakiness = mean(spreads)
        summary.scores[name] = score
    for name, unit in METRICS.items():
        value = _metric_value(rows, name)
        if value is None:
            continue
        metric = MetricSummary(name, value, unit)
        if base:
            _compare_metric(metric, rows, base_rows, groups, base_groups)
        summary.metrics[name] = metric
    summary.totals = {
        "estimated_cost": sum(r.metrics.get("estimated_cost") or 0.0 for r in rows),
        "total_tokens": sum(r.metrics.get("total_tokens") or 0.0 for r in rows),
    }
    summary.flaky_rows = flaky_rows(groups)
    for row in rows:
        for name, message in (row.scorer_errors or {}).items():
            count, first = summary.scorer_errors.get(name, (0, str(message)))
            summary.scorer_errors[name] = (count + 1, first)
    return summary


def flaky_rows(groups: dict[str, list[ExpRow]], limit: int = 50) -> list[dict[str, Any]]:
    """Rows whose trials disagree, most flaky first: `{key, input, trials, spread: {score: range}}`."""
    out = []
    for key, rows in groups.items():
        if len(rows) < 2:
            continue
        spreads = {}
        for name in sorted({n for r in rows for n in r.scores}):
            values = _score_values(rows, name)
            if len(values) > 1 and spread(values)["range"] > EPS:
                spreads[name] = spread(values)["range"]
        if spreads:
            out.append({"key": key, "input": rows[0].input, "trials": len(rows), "spread": spreads})
    out.sort(key=lambda r: -max(r["spread"].values()))
    return out[:limit]


def previous_experiment(workspace: Any, exp: Any) -> str | None:
    """The experiment on the same dataset created just before `exp` (Braintrust's default base)."""
    dataset_id = exp.data.get("dataset_id")
    if not dataset_id:
        return None
    earlier = [
        o
        for o in workspace.objects("experiment", exp.project_id)
        if o.id != exp.id and o.data.get("dataset_id") == dataset_id and o.created <= exp.created
    ]
    return max(earlier, key=lambda o: o.created).id if earlier else None
