"""autoevals' own conformance vectors for the heuristic scorers (evals-research.md §1.6)."""

from __future__ import annotations

import pytest

from loop_tui.evals.scorers import (
    Contains,
    ExactMatch,
    JSONDiff,
    Levenshtein,
    ListContains,
    NumericDiff,
    Score,
    ValidJSON,
)
from loop_tui.evals.scorers.structured import max_weight_assignment


def approx(value: float) -> object:
    return pytest.approx(value, abs=1e-4)


@pytest.mark.parametrize(
    ("output", "expected", "score"),
    [
        ("", "", 1),
        ("", "a", 0),
        ("a", "", 0),
        ("a", "a", 1),
        ("a", "b", 0),
        ("ab", "ac", 0.5),
        ("ac", "bc", 0.5),
        ("abc", "axc", 0.66667),
        ("xabxcdxxefxgx", "1ab2cd34ef5g6", 0.53846),
    ],
)
def test_levenshtein_vectors(output: str, expected: str, score: float) -> None:
    result = Levenshtein()(output=output, expected=expected)
    assert result.name == "Levenshtein"
    assert result.score == approx(score)


def test_levenshtein_requires_expected() -> None:
    with pytest.raises(ValueError):
        Levenshtein()(output="a", expected=None)


@pytest.mark.parametrize(
    ("output", "expected", "score"),
    [(0, 0, 1), (0, 1, 0), (1, 2, 0.66667), (1.0, 2.0, 0.66667), (-1, 2, 0)],
)
def test_numeric_diff_vectors(output: float, expected: float, score: float) -> None:
    assert NumericDiff()(output=output, expected=expected).score == approx(score)


WORDS_A = ["workspaces", "section", "view", "others", "workspace", "team", "pinning"]
WORDS_B = ["starred", "multiple different workspaces", "shortcuts"]


@pytest.mark.parametrize(
    ("output", "expected", "score", "extra"),
    [
        ([], [], 1, False),
        ([0], [], 0, False),
        ([], [0], 0, False),
        (["a"], ["a"], 1, False),
        (["a"], ["a", "b"], 0.5, False),
        (["a", "b"], ["a"], 0.5, False),
        (WORDS_A, WORDS_B, 0.1218, False),
        (WORDS_B, WORDS_A, 0.1218, False),
        (["a", "b"], ["a"], 1, True),
    ],
)
def test_list_contains_vectors(output: list, expected: list, score: float, extra: bool) -> None:
    assert ListContains(allow_extra_entities=extra)(output=output, expected=expected).score == approx(score)


def test_list_contains_reports_pairs() -> None:
    result = ListContains()(output=["b", "a"], expected=["a", "b"])
    assert result.score == 1
    assert sorted(result.metadata["pairs"]) == [["a", "a"], ["b", "b"]]


def test_assignment_matches_brute_force() -> None:
    import itertools
    import random

    rng = random.Random(7)
    for rows, cols in [(3, 3), (2, 5), (5, 2), (4, 4), (1, 3)]:
        weights = [[rng.random() for _ in range(cols)] for _ in range(rows)]
        pairs = max_weight_assignment(weights)
        got = sum(weights[r][c] for r, c in pairs)
        k = min(rows, cols)
        best = max(
            sum(weights[r][c] for r, c in zip(rs, cs, strict=True))
            for rs in itertools.combinations(range(rows), k)
            for cs in itertools.permutations(range(cols), k)
        )
        assert len(pairs) == k
        assert got == pytest.approx(best)


@pytest.mark.parametrize(
    ("output", "expected", "score"),
    [
        ("hello", "hello", 1),
        ("hello", "world", 0),
        (123, 123, 1),
        (123, "123", 1),
        ({"a": 1, "b": 2}, {"a": 1, "b": 2}, 1),
        ({"a": 1, "b": 2}, {"a": 1, "b": 3}, 0),
        ([1, 2, 3], [1, 2, 3], 1),
        ([1, 2, 3], [3, 2, 1], 0),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}, 0),
        ({"a": 1, "b": 2}, '{"a": 1, "b": 2}', 1),
        ({"a": 1, "b": 2}, '{"a":1, "b":2}', 1),
        ({"a": 1, "b": 2}, '{"b": 2, "a": 1}', 0),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1, "c": 3}, 0),
        (None, None, 1),
        (None, "None", 1),
    ],
)
def test_exact_match_vectors(output: object, expected: object, score: int) -> None:
    assert ExactMatch()(output=output, expected=expected).score == score


@pytest.mark.parametrize(
    ("output", "expected", "score"),
    [
        (None, None, 1),
        (None, "", 0),
        ([], {}, 0),
        ([], [], 1),
        ({}, {}, 1),
        ({"a": 1}, {"a": 1}, 1),
        ({"a": 1}, {"a": 2}, 0.66667),
        ({"a": 1}, ["a", 1], 0.5714286),
        ({"a": 1}, {"b": {"a": 1}}, 0),
        ({"a": 1}, {"a": None}, 0),
        ({"mapping": {"a": "foo", "b": "bar"}}, {"mapping": {"a": "Foo", "b": "Bar"}, "Extra": 5}, 0.33333),
    ],
)
def test_json_diff_vectors(output: object, expected: object, score: float) -> None:
    assert JSONDiff()(output=output, expected=expected).score == approx(score)


@pytest.mark.parametrize(
    ("output", "expected", "score"),
    [
        ('{"x": 1, "y": 2}', '{"y": 2, "x": 1}', 1),
        ('{"zs": ["a", "b"], "x": 1, "y": 2}', '{"y": 2, "zs": ["a", "b"], "x": 1}', 1),
        ('{"o1": {"x": 1, "y": 2}}', '{"o1": {"y": 2, "x": 1}}', 1),
        ('{"o1": {"x": 2, "y": 2}}', '{"o1": {"y": 2, "x": 1}}', 0.83333),
        ({"o1": {"x": 2, "y": 2}}, '{"o1": {"y": 2, "x": 1}}', 0.83333),
        ('{"x": 1, "y": 2}', '{"x": 1, "z": 2}', 0.3333),
        ("[1, 2]", "[1, 2]", 1),
        ("[1, 2]", "[2, 1]", 0.66667),
    ],
)
def test_json_diff_semantic_vectors(output: object, expected: object, score: float) -> None:
    numeric = JSONDiff()(output=output, expected=expected).score
    assert numeric == approx(score)
    exact = JSONDiff(number_scorer=ExactMatch())(output=output, expected=expected).score
    assert round(exact * 100) <= round(numeric * 100)


def test_json_diff_preserve_strings_compares_text() -> None:
    assert JSONDiff(preserve_strings=True)(output='{"x":1}', expected='{"x": 1}').score < 1


@pytest.mark.parametrize(
    ("output", "schema", "score"),
    [
        ("1", None, 0),
        ('{ "a": 1, "b": "hello" }', None, 1),
        ('[{ "a": 1 }]', None, 1),
        ('[{ "a": 1 }', None, 0),
        ('{ mapping: {"a": "foo", "b": "bar"} }', None, 0),
        ({"a": 1}, None, 1),
        ([1], None, 1),
        (100, None, 0),
        ("100", None, 0),
        ('{"a": "1"}', {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}, 1),
        ('{"a": "1", "b": "1"}', {"type": "object", "properties": {"b": {"type": "number"}}}, 0),
        (
            '[{"a": "1"}, {"a": "2"}]',
            {"type": "array", "items": {"type": "object"}, "uniqueItems": True},
            1,
        ),
    ],
)
def test_valid_json_vectors(output: object, schema: dict | None, score: int) -> None:
    assert ValidJSON(schema)(output=output).score == score


def test_score_range_is_enforced_like_autoevals() -> None:
    with pytest.raises(ValueError):
        Score("x", 1.5)
    with pytest.raises(ValueError):
        Score("x", -0.1)
    assert Score("x", None).score is None
    assert Score("x", True).score == 1.0


def test_contains_and_names() -> None:
    assert Contains()(output="the cat sat", expected="cat").score == 1
    assert Contains()(output="the dog", expected="cat").score == 0
    assert ExactMatch()(output="a", expected="a").name == "ExactMatch"
