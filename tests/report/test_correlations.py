"""Merge candidates with known answers: a trade-off is found, independent knobs are not."""

from __future__ import annotations

import numpy as np
import pytest

from technorhythm.report.correlations import (
    correlation_matrix,
    strong_pairs,
    top_pairs,
    weak_directions,
)

KNOBS = ["a", "b", "c", "d"]
PRIOR_SD = np.array([1.0, 2.0, 1.0, 1.0])


def test_a_sum_that_is_pinned_is_a_shared_weak_direction(rng):
    t = rng.normal(0, 0.8, 4000)
    draws = np.column_stack(
        [
            t + rng.normal(0, 0.05, 4000),  # a and b trade off: a + b/2 is pinned
            -2 * t + rng.normal(0, 0.1, 4000),
            rng.normal(0, 0.9, 4000),  # c: unidentified on its own
            rng.normal(0, 0.05, 4000),  # d: identified
        ]
    )
    found = weak_directions(draws, PRIOR_SD, KNOBS)
    assert [d.knobs for d in found] == [("a", "b")]
    assert found[0].sd_ratio == pytest.approx(np.sqrt(2) * 0.8, rel=0.05)
    assert np.sign(found[0].loadings[0]) == -np.sign(found[0].loadings[1])
    pairs = strong_pairs(correlation_matrix(draws), KNOBS)
    assert pairs[["knob_a", "knob_b"]].values.tolist() == [["a", "b"]]
    assert pairs["rho"].iloc[0] < -0.99


def test_independent_unidentified_knobs_are_no_merge_candidates(rng):
    draws = rng.normal(0, 1.0, (4000, 4)) * PRIOR_SD  # nothing learnt, nothing shared
    assert weak_directions(draws, PRIOR_SD, KNOBS) == []
    assert strong_pairs(correlation_matrix(draws), KNOBS).empty


def test_a_pinned_combination_of_three_knobs(rng):
    # a + b + c fixed, each knob wide: pairwise ρ = -0.5, no pair above the threshold
    # that matters alone, but the three share two open directions
    z = rng.normal(0, 0.7, (4000, 3))
    z -= z.mean(axis=1, keepdims=True)
    draws = np.column_stack([z, rng.normal(0, 0.05, 4000)])
    found = weak_directions(draws, np.ones(4), KNOBS)
    assert found and all(set(d.knobs) <= {"a", "b", "c"} for d in found)


def test_a_knob_without_spread_is_left_out(rng):
    draws = rng.normal(0, 1.0, (500, 4))
    draws[:, 2] = 0.3
    corr = correlation_matrix(draws)
    assert np.isnan(corr[2]).all() and np.isnan(corr[:, 2]).all()
    assert all("c" not in (a, b) for a, b, _ in top_pairs(corr, KNOBS, n=6))
    assert weak_directions(draws, np.ones(4), KNOBS) == []


def test_top_pairs_are_strongest_first(rng):
    t, u = rng.normal(size=(2, 4000))
    draws = np.column_stack(
        [t, u, 0.75 * u + rng.normal(0, 0.66, 4000), -t + rng.normal(0, 0.1, 4000)]
    )
    pairs = top_pairs(correlation_matrix(draws), KNOBS, n=2)
    assert [(a, b) for a, b, _ in pairs] == [("a", "d"), ("b", "c")]
    assert pairs[0][2] < -0.99 and pairs[1][2] == pytest.approx(0.75, abs=0.03)
