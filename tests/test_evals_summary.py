"""Experiment comparison on hand-made experiments with known answers."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from loop_tui.evals.compare import compare_rows
from loop_tui.evals.stats import bootstrap_ci, percentile
from loop_tui.evals.summary import summarize
from loop_tui.store import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.open(tmp_path / "ws")


def make_experiment(
    ws: Workspace,
    name: str,
    rows: list[dict[str, Any]],
    *,
    dataset_id: str | None = "ds-1",
    base: str | None = None,
) -> str:
    project = ws.project("p") if ws.projects() else ws.create_project("p")
    exp = ws.save_object(
        "experiment", project.id, name, {"dataset_id": dataset_id, "base_experiment_id": base}
    )
    spans = []
    for n, row in enumerate(rows):
        start = 1000.0 + n
        span = {
            "input": row.get("input", {"n": row.get("row")}),
            "output": row.get("output", "out"),
            "scores": row.get("scores"),
            "error": row.get("error"),
            "metrics": {"start": start, "end": start + row.get("duration", 1.0), **row.get("metrics", {})},
            "span_attributes": {"name": "eval", "type": "eval"},
        }
        if "row" in row:
            span["origin"] = {"object_type": "dataset", "object_id": dataset_id, "id": f"r{row['row']}"}
        spans.append(span)
    ws.insert_rows("experiment", exp.id, spans, project_id=project.id)
    return exp.id


def test_scores_diff_improvements_regressions_and_skips(ws: Workspace) -> None:
    base = make_experiment(
        ws,
        "base",
        [
            {"row": 1, "scores": {"S": 0.5}},
            {"row": 2, "scores": {"S": 0.5}},
            {"row": 3, "scores": {"S": 1.0}},
            {"row": 4, "scores": {"S": None}},
        ],
    )
    new = make_experiment(
        ws,
        "new",
        [
            {"row": 3, "scores": {"S": 1.0}},
            {"row": 1, "scores": {"S": 1.0}},
            {"row": 2, "scores": {"S": 0.0}},
            {"row": 4, "scores": {"S": 0.5}},
            {"row": 5, "error": "boom", "scores": None},
        ],
        base=base,
    )
    summary = summarize(ws, new)
    s = summary.scores["S"]
    assert s.score == pytest.approx(0.625)  # (1 + 1 + 0 + 0.5) / 4, the None in base is skipped
    assert s.base_score == pytest.approx(2 / 3)
    assert s.diff == pytest.approx(0.0)  # paired rows 1..3: +0.5, -0.5, 0
    assert (s.improvements, s.regressions) == (1, 1)
    assert s.ci_low <= 0 <= s.ci_high
    assert (summary.rows, summary.errors) == (5, 1)
    assert summary.base_name == "base"
    out = summary.to_json()
    assert out["base"] == {"id": base, "name": "base"}
    assert set(out["scores"]["S"]) == {"mean", "diff", "improvements", "regressions", "ci_low", "ci_high"}
    assert out["metrics"]["errors"] == {"value": 1, "unit": "", "diff": None}


def test_rows_pair_by_input_without_dataset_ids(ws: Workspace) -> None:
    base = make_experiment(
        ws, "a", [{"input": "x", "scores": {"S": 0.0}}, {"input": "y", "scores": {"S": 1.0}}]
    )
    new = make_experiment(
        ws, "b", [{"input": "y", "scores": {"S": 1.0}}, {"input": "x", "scores": {"S": 0.5}}]
    )
    s = summarize(ws, new, base).scores["S"]
    assert s.diff == pytest.approx(0.25)
    assert (s.improvements, s.regressions) == (1, 0)


def test_metrics_lower_is_better_and_percentiles(ws: Workspace) -> None:
    base = make_experiment(
        ws,
        "slow",
        [{"row": i, "duration": 2.0, "metrics": {"tokens": 100, "estimated_cost": 0.01}} for i in range(4)],
    )
    durations = [1.0, 1.0, 3.0, 5.0]
    new = make_experiment(
        ws,
        "mixed",
        [
            {"row": i, "duration": d, "metrics": {"tokens": 50, "estimated_cost": 0.005}}
            for i, d in enumerate(durations)
        ],
        base=base,
    )
    summary = summarize(ws, new)
    m = summary.metrics
    assert m["duration"].value == pytest.approx(2.5)
    assert m["duration"].diff == pytest.approx(0.25)
    assert (m["duration"].improvements, m["duration"].regressions) == (2, 2)
    assert m["duration_p50"].value == pytest.approx(percentile(durations, 0.5)) == pytest.approx(2.0)
    assert m["duration_p95"].value == pytest.approx(4.7)
    assert m["total_tokens"].value == 50 and m["total_tokens"].diff == pytest.approx(-0.5)
    assert m["total_tokens"].improvements == 4
    assert m["estimated_cost"].unit == "$"
    assert summary.totals["estimated_cost"] == pytest.approx(0.02)


def test_bootstrap_ci_contains_true_diff_and_is_deterministic() -> None:
    rng = random.Random(42)
    true_diff = 0.1
    diffs = [true_diff + rng.gauss(0, 0.2) for _ in range(300)]
    sample_mean = sum(diffs) / len(diffs)
    low, high = bootstrap_ci(diffs, seed="x")
    assert low < sample_mean < high
    assert low < true_diff < high
    assert low > 0  # a real improvement: the interval excludes zero
    assert bootstrap_ci(diffs, seed="x") == (low, high)
    # Noise around zero gives an interval that straddles zero.
    noise = [rng.gauss(0, 0.2) for _ in range(300)]
    nlow, nhigh = bootstrap_ci(noise, seed="x")
    assert nlow < 0 < nhigh
    assert bootstrap_ci([], seed="x") == (None, None)
    assert bootstrap_ci([0.5], seed="x") == (0.5, 0.5)


def test_summary_ci_is_deterministic_across_calls(ws: Workspace) -> None:
    rng = random.Random(1)
    base_rows = [{"row": i, "scores": {"S": rng.random() * 0.5}} for i in range(60)]
    base = make_experiment(ws, "b0", base_rows)
    new_rows = [
        {"row": i, "scores": {"S": min(1.0, r["scores"]["S"] + 0.2 + rng.uniform(-0.1, 0.1))}}
        for i, r in enumerate(base_rows)
    ]
    new = make_experiment(ws, "b1", new_rows, base=base)
    first, second = summarize(ws, new).scores["S"], summarize(ws, new).scores["S"]
    assert (first.ci_low, first.ci_high) == (second.ci_low, second.ci_high)
    assert first.ci_low < first.diff < first.ci_high
    assert first.ci_low < 0.2 < first.ci_high
    assert first.ci_low > 0


def test_trials_average_per_row_and_report_flakiness(ws: Workspace) -> None:
    base = make_experiment(ws, "t0", [{"row": 1, "scores": {"S": 0.0}}, {"row": 2, "scores": {"S": 1.0}}])
    new = make_experiment(
        ws,
        "t1",
        [
            {"row": 1, "scores": {"S": 1.0}},
            {"row": 1, "scores": {"S": 0.0}},
            {"row": 2, "scores": {"S": 1.0}},
            {"row": 2, "scores": {"S": 1.0}},
        ],
        base=base,
    )
    summary = summarize(ws, new)
    s = summary.scores["S"]
    assert s.diff == pytest.approx(0.25)  # row 1: mean 0.5 vs 0; row 2: 1 vs 1
    assert s.flakiness == pytest.approx(0.5)  # ranges 1 and 0
    assert [r["key"] for r in summary.flaky_rows] == ["id:r1"]
    assert summary.flaky_rows[0]["spread"] == {"S": 1.0}


def test_default_base_is_previous_experiment_on_same_dataset(ws: Workspace) -> None:
    first = make_experiment(ws, "e1", [{"row": 1, "scores": {"S": 0.0}}])
    make_experiment(ws, "other", [{"row": 1, "scores": {"S": 0.0}}], dataset_id="ds-2")
    third = make_experiment(ws, "e3", [{"row": 1, "scores": {"S": 1.0}}])
    summary = summarize(ws, third)
    assert summary.base_id == first
    assert summarize(ws, first).base_id is None


def test_compare_rows_sorted_by_biggest_regression(ws: Workspace) -> None:
    base = make_experiment(
        ws, "c0", [{"row": i, "scores": {"S": 0.5}, "output": f"old{i}"} for i in range(3)]
    )
    new = make_experiment(
        ws,
        "c1",
        [
            {"row": 0, "scores": {"S": 0.6}},
            {"row": 1, "scores": {"S": 0.0}},
            {"row": 2, "scores": {"S": 0.4}},
            {"row": 9, "scores": {"S": 1.0}},
        ],
        base=base,
    )
    diffs = compare_rows(ws, new)
    assert [d.key for d in diffs] == ["id:r1", "id:r2", "id:r0", "id:r9"]
    assert diffs[0].deltas == {"S": pytest.approx(-0.5)}
    assert diffs[0].base_output == "old1"
    unpaired = next(d for d in diffs if d.key == "id:r9")
    assert unpaired.base_scores == {} and unpaired.deltas == {}


def test_text_format_matches_braintrust(ws: Workspace) -> None:
    base = make_experiment(
        ws, "before", [{"row": i, "scores": {"Factuality": 0.8, "ExactMatch": 0.5}} for i in range(4)]
    )
    rows = [{"row": i, "scores": {"Factuality": 0.85, "ExactMatch": 0.5}} for i in range(4)]
    new = make_experiment(ws, "after", rows, base=base)
    text = str(summarize(ws, new))
    lines = text.splitlines()
    assert lines[1] == "=========================SUMMARY========================="
    assert lines[2] == "after compared to before:"
    assert (
        lines[3] == "50.00% (-) 'ExactMatch' score\t(0 improvements, 0 regressions)\t95% CI [+0.00%, +0.00%]"
    )
    assert lines[4].startswith("85.00% (+05.00%) 'Factuality' score\t(4 improvements, 0 regressions)")
    assert "1.00s (-) 'duration'" in text


def test_scorer_errors_are_counted_and_printed(ws: Workspace) -> None:
    project = ws.create_project("p")
    exp = ws.save_object("experiment", project.id, "errs", {})
    rows = [
        {"input": i, "scores": {"A": 1.0}, "metadata": {"scorer_errors": {"judge": "ValueError: no verdict"}}}
        for i in range(3)
    ]
    ws.insert_rows("experiment", exp.id, rows, project_id=project.id)
    summary = summarize(ws, exp.id)
    assert summary.scorer_errors == {"judge": (3, "ValueError: no verdict")}
    assert "'judge' failed on 3 rows: ValueError: no verdict" in str(summary)
