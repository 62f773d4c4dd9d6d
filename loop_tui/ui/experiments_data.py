"""What the experiments pages show, computed from the store and `loop_tui.evals` (no Textual)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loop_tui.evals.experiments import run_status, status_note
from loop_tui.ui.formatting import as_mapping, fmt_cost, fmt_delta, fmt_time, histogram_sparkline, preview

if TYPE_CHECKING:
    import pyarrow as pa

    from loop_tui.store import CatalogObject, Workspace


def experiments_table(ws: Workspace, project_id: str) -> tuple[pa.Table, list[CatalogObject]]:
    """One display row per experiment (newest first): score means with their diff vs base and a
    histogram sparkline of the row scores."""
    import pyarrow as pa

    from loop_tui.evals import summarize

    experiments = ws.objects("experiment", project_id)
    values: dict[tuple[str, str], list[float]] = {}
    for row in ws.query(
        "SELECT experiment_id, scores FROM experiment WHERE project_id = ? AND is_root AND scores IS NOT NULL",
        [project_id],
    ):
        for name, value in as_mapping(row["scores"]).items():
            if value is not None:
                values.setdefault((row["experiment_id"], name), []).append(float(value))
    score_names = sorted({name for _, name in values})
    datasets = {d.id: d.name for d in ws.objects("dataset", project_id)}
    columns: dict[str, list[str]] = {"experiment": []}
    for name in score_names:
        columns[name] = []
    for key in ("model", "dataset", "rows", "errors", "created"):
        columns[key] = []
    for exp in experiments:
        summary = summarize(ws, exp.id)
        columns["experiment"].append(exp.name + status_note(run_status(exp.data)))
        columns["created"].append(fmt_time(exp.created)[:16])
        columns["model"].append(str(exp.data.get("model") or ""))
        columns["dataset"].append(datasets.get(exp.data.get("dataset_id") or "", ""))
        columns["rows"].append(str(summary.rows))
        columns["errors"].append(str(summary.errors))
        for name in score_names:
            score = summary.scores.get(name)
            if score is None or score.score is None:
                columns[name].append("")
                continue
            diff = f" {fmt_delta(score.diff)}" if score.diff is not None else ""
            spark = histogram_sparkline(values.get((exp.id, name), []))
            columns[name].append(f"{score.score * 100:5.1f}%{diff} {spark}")
    return pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()}), experiments


def summary_rows(summary: Any) -> list[tuple[str, ...]]:
    """Score lines for the experiment view: name, mean, base, diff, ↑, ↓, 95% CI."""
    out: list[tuple[str, ...]] = []
    for s in summary.scores.values():
        ci = f"[{fmt_delta(s.ci_low)}, {fmt_delta(s.ci_high)}]" if s.ci_low is not None else ""
        out.append(
            (
                s.name,
                "" if s.score is None else f"{s.score * 100:.1f}%",
                "" if s.base_score is None else f"{s.base_score * 100:.1f}%",
                fmt_delta(s.diff),
                str(s.improvements) if summary.base_id else "",
                str(s.regressions) if summary.base_id else "",
                ci,
            )
        )
    return out


def metric_rows(summary: Any) -> list[tuple[str, ...]]:
    """Metric lines: name, value, change vs base (lower is better), ↑, ↓."""
    out: list[tuple[str, ...]] = []
    for m in summary.metrics.values():
        diff = "" if m.diff is None else f"{m.diff * 100:+.1f}%"
        out.append((m.name, _metric_value(m.value, m.unit), diff, str(m.improvements), str(m.regressions)))
    return out


def _metric_value(value: float | None, unit: str) -> str:
    """A metric short enough for the narrow metrics panel: "$0.0080", "4.17 s", "1,703" tokens (a mean of
    hundreds of tokens needs no decimals; "1,703.45" was cut to "1,703." at 80 columns)."""
    if value is None:
        return ""
    if unit == "$":
        return fmt_cost(value)
    number = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    return number if unit == "tok" else f"{number} {unit}".strip()  # the name says tokens already


def row_diffs_table(diffs: list[Any]) -> pa.Table:
    """Experiment rows beside their base rows: score deltas and scores, then input, output, base output."""
    import pyarrow as pa

    names = sorted({n for d in diffs for n in d.scores})
    # Scores and their deltas first: the table is sorted by regression, so the numbers that explain
    # the order must be visible before the long text columns push them off screen.
    columns: dict[str, list[str]] = {}
    for name in names:
        columns[f"Δ {name}"] = []
        columns[name] = []
    columns.update({"input": [], "output": [], "base output": [], "error": []})
    for d in diffs:
        columns["input"].append(preview(d.input, 36))
        columns["output"].append(preview(d.output, 36))
        columns["base output"].append(preview(d.base_output, 30))
        columns["error"].append(preview(d.error, 24))
        for name in names:
            value = d.scores.get(name)
            columns[name].append("" if value is None else f"{value:.2f}")
            delta = d.deltas.get(name)
            columns[f"Δ {name}"].append("" if delta is None else f"{delta:+.2f}")
    return pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})
