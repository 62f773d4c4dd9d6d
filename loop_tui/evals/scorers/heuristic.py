"""Heuristic scorers with exactly autoevals' semantics (see evals-research.md §1.2 and §1.6).

Implemented here rather than imported so the app has no runtime dependency on autoevals; the
conformance vectors from autoevals' own tests live in tests/test_evals_scorers.py.
"""

from __future__ import annotations

import json
from typing import Any

from loop_tui.evals.score import Score, Scorer

try:  # the same C implementation autoevals uses; ~50x faster on long strings
    from polyleven import levenshtein as _fast_distance
except ImportError:  # pragma: no cover - polyleven is a declared dependency
    _fast_distance = None


def levenshtein_distance(a: str, b: str) -> int:
    """Classic edit distance (insert, delete, substitute): polyleven's C code, else the pure-Python one."""
    return _fast_distance(a, b) if _fast_distance is not None else _python_distance(a, b)


def _python_distance(a: str, b: str) -> int:
    """Edit distance in O(len(a)·len(b)) with two rows (the fallback and the reference in tests)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


class Levenshtein(Scorer):
    """1 - edit distance / length of the longer string (both sides `str()`-ed); two empties score 1."""

    def _run_eval_sync(self, output: Any, expected: Any = None, **kwargs: Any) -> Score:
        if expected is None:
            raise ValueError("Levenshtein requires an expected value")
        out, exp = str(output), str(expected)
        longest = max(len(out), len(exp))
        score = 1.0 if longest == 0 else 1 - levenshtein_distance(out, exp) / longest
        return Score(self._name(), score)


LevenshteinScorer = Levenshtein


class NumericDiff(Scorer):
    """1 - |expected - output| / (|expected| + |output|); two zeros score 1 (autoevals' actual formula)."""

    def _run_eval_sync(self, output: Any, expected: Any = None, **kwargs: Any) -> Score:
        if expected is None:
            raise ValueError("NumericDiff requires an expected value")
        if expected == 0 and output == 0:
            return Score(self._name(), 1.0)
        return Score(self._name(), 1 - abs(expected - output) / (abs(expected) + abs(output)))


def _normalize_for_match(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, str):
        try:
            return json.dumps(json.loads(value))
        except ValueError:
            return value
    return str(value)


class ExactMatch(Scorer):
    """1 if output equals expected; dicts/lists and JSON strings compare as `json.dumps` (key order matters)."""

    def _run_eval_sync(self, output: Any, expected: Any = None, **kwargs: Any) -> Score:
        if isinstance(output, dict | list) or isinstance(expected, dict | list):
            out, exp = _normalize_for_match(output), _normalize_for_match(expected)
        else:
            out, exp = str(output), str(expected)
        return Score(self._name(), 1.0 if out == exp else 0.0)


class Contains(Scorer):
    """1 if the expected text occurs in the output (case-sensitive); a cheap extra, not in autoevals' core."""

    def _run_eval_sync(self, output: Any, expected: Any = None, **kwargs: Any) -> Score:
        if expected is None:
            raise ValueError("Contains requires an expected value")
        return Score(self._name(), 1.0 if str(expected) in str(output) else 0.0)
