"""Agreement between a scorer and a person's labels: accuracy and Cohen's kappa (plain Python, no Textual)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


def classify(score: float | None, label_values: Sequence[float]) -> float | None:
    """The label a score stands for: the nearest of `label_values` (None stays None: the scorer failed)."""
    if score is None or not label_values:
        return None
    return min(label_values, key=lambda v: (abs(v - score), -v))


def accuracy(predicted: Sequence[object], truth: Sequence[object]) -> float:
    """Share of rows where the scorer's class equals the label."""
    if len(predicted) != len(truth):
        raise ValueError("predicted and truth must have the same length")
    if not truth:
        return 0.0
    return sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(truth)


def cohens_kappa(predicted: Sequence[object], truth: Sequence[object]) -> float | None:
    """Cohen's kappa: agreement corrected for chance; None when chance agreement is total (undefined)."""
    n = len(truth)
    if n == 0 or len(predicted) != n:
        return None
    observed = accuracy(predicted, truth)
    p_counts, t_counts = Counter(predicted), Counter(truth)
    expected = sum(p_counts[c] * t_counts[c] for c in set(p_counts) | set(t_counts)) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


@dataclass(frozen=True)
class Agreement:
    """How well scores match labels over `n` rows."""

    n: int
    accuracy: float
    kappa: float | None

    def describe(self) -> str:
        """'accuracy 80% · kappa 0.52' (kappa n/a when undefined)."""
        kappa = "n/a" if self.kappa is None else f"{self.kappa:.2f}"
        return f"accuracy {self.accuracy:.0%} · kappa {kappa}"


def agreement(scores: Sequence[float | None], labels: Sequence[float], label_values: Sequence[float]) -> Agreement:
    """Agreement of raw scores (classified to the nearest label value) with the labels."""
    predicted = [classify(s, label_values) for s in scores]
    return Agreement(len(labels), accuracy(predicted, list(labels)), cohens_kappa(predicted, list(labels)))
