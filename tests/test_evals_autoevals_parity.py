"""Property check: our heuristic scorers agree with the real autoevals package (skipped when not installed)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

autoevals = pytest.importorskip("autoevals")

from loop_tui.evals import scorers as ours  # noqa: E402

TEXT = st.text(alphabet='abcxyz {}[]":,01', max_size=12)
JSONISH = st.recursive(
    st.none() | st.integers(-5, 5) | st.text(alphabet="abc", max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abcd"), inner, max_size=3),
    max_leaves=8,
)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def same(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-9)


@FAST
@given(TEXT, TEXT)
def test_levenshtein_parity(output: str, expected: str) -> None:
    assert same(ours.Levenshtein()(output, expected).score, autoevals.Levenshtein()(output, expected).score)


@FAST
@given(st.integers(-50, 50) | st.floats(-10, 10), st.integers(-50, 50) | st.floats(-10, 10))
def test_numeric_diff_parity(output: float, expected: float) -> None:
    try:
        theirs = autoevals.NumericDiff()(output, expected).score
    except (ValueError, ZeroDivisionError):
        # autoevals raises for a score outside [0, 1] (e.g. mixed signs); so must we.
        with pytest.raises((ValueError, ZeroDivisionError)):
            ours.NumericDiff()(output, expected)
        return
    assert same(ours.NumericDiff()(output, expected).score, theirs)


@FAST
@given(JSONISH | TEXT, JSONISH | TEXT)
def test_exact_match_and_json_diff_parity(output: object, expected: object) -> None:
    for name in ("ExactMatch", "JSONDiff"):
        try:
            theirs = getattr(autoevals, name)()(output, expected).score
        except TypeError:
            continue  # autoevals crashes on some inputs (e.g. ExactMatch(None, [])); we score them instead
        assert same(getattr(ours, name)()(output, expected).score, theirs), name


@FAST
@given(JSONISH | TEXT)
def test_valid_json_parity(output: object) -> None:
    assert same(ours.ValidJSON()(output).score, autoevals.ValidJSON()(output).score)


@FAST
@given(st.lists(TEXT, max_size=5), st.lists(TEXT, max_size=5), st.booleans())
def test_list_contains_parity(output: list[str], expected: list[str], extra: bool) -> None:
    pytest.importorskip("scipy", reason="autoevals' ListContains needs scipy (autoevals[scipy])")
    mine = ours.ListContains(allow_extra_entities=extra)(output, expected).score
    theirs = autoevals.ListContains(allow_extra_entities=extra)(output, expected).score
    assert abs(mine - theirs) < 1e-6
