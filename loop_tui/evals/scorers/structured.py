"""JSON and list scorers with autoevals' semantics: JSONDiff, ValidJSON, ListContains."""

from __future__ import annotations

import json
from typing import Any

from loop_tui.evals.score import Score, Scorer
from loop_tui.evals.scorers.heuristic import Levenshtein, NumericDiff


def _valid_json(value: Any, schema: dict[str, Any] | None = None) -> bool:
    """autoevals' rule: parse strings; with a schema validate, else only objects and arrays count."""
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
        if schema is not None:
            try:
                import jsonschema
            except ImportError:
                raise RuntimeError("ValidJSON with a schema needs the `jsonschema` package") from None
            jsonschema.validate(parsed, schema)
            return True
        return isinstance(parsed, dict | list)
    except RuntimeError:
        raise
    except Exception:
        return False


class ValidJSON(Scorer):
    """1 if the output is a JSON object/array (or matches `schema` when given), else 0; scalars score 0."""

    def __init__(self, schema: dict[str, Any] | None = None) -> None:
        self.schema = schema

    def _run_eval_sync(self, output: Any, expected: Any = None, **kwargs: Any) -> Score:
        schema = kwargs.get("schema", self.schema)
        return Score(self._name(), 1.0 if _valid_json(output, schema) else 0.0)


class JSONDiff(Scorer):
    """Recursive structural similarity of two JSON values (dict keys averaged, lists by position)."""

    def __init__(
        self,
        string_scorer: Scorer | None = None,
        number_scorer: Scorer | None = None,
        preserve_strings: bool = False,
    ) -> None:
        self.string_scorer = string_scorer or Levenshtein()
        self.number_scorer = number_scorer or NumericDiff()
        self.preserve_strings = preserve_strings

    def _run_eval_sync(self, output: Any, expected: Any = None, **kwargs: Any) -> Score:
        return Score(self._name(), self.json_diff(output, expected))

    def json_diff(self, o1: Any, o2: Any) -> float:
        """The similarity of two values in [0, 1]."""
        if not self.preserve_strings:
            if isinstance(o1, str) and _valid_json(o1):
                o1 = json.loads(o1)
            if isinstance(o2, str) and _valid_json(o2):
                o2 = json.loads(o2)
        if isinstance(o1, dict) and isinstance(o2, dict):
            if not o1 and not o2:
                return 1.0
            keys = list(o1) + [k for k in o2 if k not in o1]
            scores = [self.json_diff(o1.get(k), o2.get(k)) for k in keys]
            return sum(scores) / len(scores)
        if isinstance(o1, list) and isinstance(o2, list):
            if not o1 and not o2:
                return 1.0
            scores = [self.json_diff(a, b) for a, b in zip(o1, o2, strict=False)]
            return sum(scores) / max(len(o1), len(o2))
        if isinstance(o1, str) and isinstance(o2, str):
            return self.string_scorer.eval(o1, o2).score or 0.0
        if isinstance(o1, int | float) and isinstance(o2, int | float):
            return self.number_scorer.eval(o1, o2).score or 0.0
        if o1 is None and o2 is None:
            return 1.0
        if o1 is None or o2 is None:
            return 0.0
        # Different types: compare their canonical JSON text with the string scorer.
        dump: dict[str, Any] = {"separators": (",", ":"), "sort_keys": True}
        return self.string_scorer.eval(json.dumps(o1, **dump), json.dumps(o2, **dump)).score or 0.0


def max_weight_assignment(weights: list[list[float]]) -> list[tuple[int, int]]:
    """Pairs (row, col) maximising the total weight (Hungarian algorithm, rectangular allowed)."""
    n_rows, n_cols = len(weights), len(weights[0]) if weights else 0
    transposed = n_rows > n_cols
    if transposed:
        weights = [list(col) for col in zip(*weights, strict=True)]
        n_rows, n_cols = n_cols, n_rows
    # Minimise cost = -weight with the O(n^2 m) potentials method; rows <= cols so every row is matched.
    inf = float("inf")
    u, v = [0.0] * (n_rows + 1), [0.0] * (n_cols + 1)
    match_col = [0] * (n_cols + 1)  # match_col[j] = row (1-based) assigned to column j
    way = [0] * (n_cols + 1)
    for i in range(1, n_rows + 1):
        match_col[0] = i
        j0 = 0
        min_v = [inf] * (n_cols + 1)
        used = [False] * (n_cols + 1)
        while True:
            used[j0] = True
            i0, delta, j1 = match_col[j0], inf, 0
            for j in range(1, n_cols + 1):
                if not used[j]:
                    cur = -weights[i0 - 1][j - 1] - u[i0] - v[j]
                    if cur < min_v[j]:
                        min_v[j], way[j] = cur, j0
                    if min_v[j] < delta:
                        delta, j1 = min_v[j], j
            for j in range(n_cols + 1):
                if used[j]:
                    u[match_col[j]] += delta
                    v[j] -= delta
                else:
                    min_v[j] -= delta
            j0 = j1
            if match_col[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            match_col[j0] = match_col[j1]
            j0 = j1
    pairs = sorted((match_col[j] - 1, j - 1) for j in range(1, n_cols + 1) if match_col[j])
    return [(c, r) for r, c in pairs] if transposed else pairs


class ListContains(Scorer):
    """Best one-to-one matching of output items to expected items by a pairwise scorer (Levenshtein)."""

    def __init__(self, pairwise_scorer: Scorer | None = None, allow_extra_entities: bool = False) -> None:
        self.pairwise_scorer = pairwise_scorer or Levenshtein()
        self.allow_extra_entities = allow_extra_entities

    def _run_eval_sync(self, output: Any, expected: Any = None, **kwargs: Any) -> Score:
        if expected is None:
            raise ValueError("ListContains requires an expected value")
        if len(output) == 0 and len(expected) == 0:
            return Score(self._name(), 1.0)
        if len(output) == 0 or len(expected) == 0:
            return Score(self._name(), 0.0)
        sims = [[self.pairwise_scorer.eval(o, e).score or 0.0 for e in expected] for o in output]
        pairs = max_weight_assignment(sims)
        total = sum(sims[r][c] for r, c in pairs)
        denominator = len(expected) if self.allow_extra_entities else max(len(output), len(expected))
        score = min(max(total / denominator, 0.0), 1.0)
        return Score(self._name(), score, {"pairs": [[output[r], expected[c]] for r, c in pairs]})
