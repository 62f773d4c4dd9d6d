"""Print an experiment summary in Braintrust's format (evals-research.md §2.4), plus our CI column."""

from __future__ import annotations

from typing import Any


def _signed_pct(diff: float | None) -> str:
    if diff is None:
        return ""
    pct = f"{abs(diff) * 100:05.2f}%"
    return f"+{pct}" if diff > 0 else f"-{pct}" if diff < 0 else "-"


def _ci(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return ""

    def fmt(v: float) -> str:
        return f"{'+' if v >= 0 else '-'}{abs(v) * 100:.2f}%"

    return f"\t95% CI [{fmt(low)}, {fmt(high)}]"


def format_score_line(score: Any, width: int) -> str:
    """`85.00% (+05.00%) 'Factuality' score\t(3 improvements, 1 regressions)`."""
    name = f"'{score.name}'".ljust(width + 2)
    value = f"{score.score * 100:05.2f}%" if score.score is not None else "  n/a "
    if score.diff is None:
        return f"{value} {name} score"
    line = f"{value} ({_signed_pct(score.diff)}) {name} score\t({score.improvements} improvements, {score.regressions} regressions)"
    return line + _ci(score.ci_low, score.ci_high)


def format_metric_line(metric: Any, width: int) -> str:
    """`1.23s (-10.00%) 'duration'\t(4 improvements, 2 regressions)`."""
    value = metric.value
    number = f"{value:d}" if isinstance(value, int) else f"{value:.2f}"
    if metric.unit == "$":
        number = f"{value:.6f}" if value < 0.01 else f"{value:.4f}" if value < 1 else f"{value:.2f}"
        text = f"${number}"
    else:
        text = f"{number}{metric.unit}"
    name = f"'{metric.name}'".ljust(width + 2)
    if metric.diff is None:
        return f"{text} {name}"
    return f"{text} ({_signed_pct(metric.diff)}) {name}\t({metric.improvements} improvements, {metric.regressions} regressions)"


def format_summary(summary: Any) -> str:
    """The whole SUMMARY block."""
    lines = ["", "=========================SUMMARY========================="]
    if summary.base_name:
        lines.append(f"{summary.experiment_name} compared to {summary.base_name}:")
    else:
        lines.append(f"{summary.experiment_name}:")
    width = max((len(n) for n in summary.scores), default=0)
    lines.extend(format_score_line(s, width) for s in summary.scores.values())
    if summary.metrics:
        if summary.scores:
            lines.append("")
        mwidth = max(len(n) for n in summary.metrics)
        lines.extend(format_metric_line(m, mwidth) for m in summary.metrics.values())
    if summary.scorer_errors:
        lines.append("")
        for name, (count, first) in summary.scorer_errors.items():
            lines.append(f"'{name}' failed on {count} row{'s' if count != 1 else ''}: {first}")
    flaky = [s for s in summary.scores.values() if s.flakiness]
    if flaky:
        lines.append("")
        lines.extend(
            f"flakiness '{s.name}': mean spread {s.flakiness * 100:.2f}% across trials" for s in flaky
        )
    lines.append("")
    lines.append(f"{summary.rows} rows, {summary.errors} errors")
    return "\n".join(line.rstrip() for line in lines)
