"""Small, dependency-free statistics for experiment comparison: percentiles and a paired bootstrap CI."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence

BOOTSTRAP_SAMPLES = 2000


def mean(values: Sequence[float]) -> float | None:
    """Arithmetic mean, or None for no values."""
    return sum(values) / len(values) if values else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in [0, 1]), like numpy's default; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def bootstrap_ci(
    diffs: Sequence[float], *, seed: str = "loop-tui", samples: int = BOOTSTRAP_SAMPLES, level: float = 0.95
) -> tuple[float | None, float | None]:
    """Percentile bootstrap CI of the mean of paired differences, deterministic for a given seed.

    Resampling the per-row differences (not each experiment separately) keeps the pairing, so row
    difficulty cancels out and the interval reflects only how consistently the change helps.
    """
    n = len(diffs)
    if n == 0:
        return None, None
    if n == 1 or all(d == diffs[0] for d in diffs):
        return diffs[0], diffs[0]
    rng = random.Random(seed)  # str seeds hash deterministically (sha512), unlike hash()
    values = list(diffs)
    means = sorted(math.fsum(rng.choices(values, k=n)) / n for _ in range(samples))
    alpha = (1 - level) / 2
    return means[int(math.floor(alpha * samples))], means[int(math.ceil((1 - alpha) * samples)) - 1]


def spread(values: Sequence[float]) -> dict[str, float]:
    """How much repeated trials of one row disagree: range and population standard deviation."""
    return {
        "range": max(values) - min(values),
        "stdev": statistics.pstdev(values) if len(values) > 1 else 0.0,
    }
