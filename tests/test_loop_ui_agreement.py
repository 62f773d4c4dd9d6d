"""Accuracy and Cohen's kappa for tune scorer, checked against hand-computed values."""

from __future__ import annotations

import pytest

from loop_tui.ui.loop.agreement import accuracy, agreement, classify, cohens_kappa


def test_kappa_matches_a_hand_computed_example():
    # p_o = 3/4; p_e = (2*1 + 2*3) / 16 = 1/2; kappa = (0.75 - 0.5) / 0.5 = 0.5
    assert cohens_kappa([1, 1, 0, 0], [1, 0, 0, 0]) == pytest.approx(0.5)
    assert accuracy([1, 1, 0, 0], [1, 0, 0, 0]) == 0.75


def test_kappa_is_one_for_perfect_and_negative_for_inverted_labels():
    assert cohens_kappa([1, 0, 1, 0], [1, 0, 1, 0]) == pytest.approx(1.0)
    assert cohens_kappa([0, 1, 0, 1], [1, 0, 1, 0]) == pytest.approx(-1.0)


def test_kappa_undefined_when_everything_is_one_class():
    assert cohens_kappa([1, 1, 1], [1, 1, 1]) is None
    assert cohens_kappa([], []) is None


def test_classify_picks_the_nearest_label_and_keeps_failures():
    assert classify(0.7, [1.0, 0.0]) == 1.0
    assert classify(0.1, [1.0, 0.4, 0.0]) == 0.0
    assert classify(None, [1.0, 0.0]) is None


def test_agreement_counts_a_failed_score_as_a_disagreement():
    result = agreement([0.9, None, 0.1], [1.0, 1.0, 0.0], [1.0, 0.0])
    assert result.n == 3 and result.accuracy == pytest.approx(2 / 3)
    assert "accuracy 67%" in result.describe()
