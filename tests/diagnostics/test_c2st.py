"""C2ST between clip sets: chance for one θ, ≈1 for clearly different θ, the right family."""

from __future__ import annotations

import numpy as np
import pytest

from technorhythm.diagnostics.c2st import (
    C2ST_FEATURE_NAMES,
    FAMILIES,
    c2st_features,
    check_c2st,
    corrected_t_p,
    family_columns,
    run_c2st,
)
from technorhythm.simulator import simulate
from technorhythm.simulator.knobs import default_theta

N = 200


def _band(n: int) -> float:
    """Half-width of the 99% binomial band of an accuracy over n predictions at 0.5."""
    return 2.58 * 0.5 / np.sqrt(n)


def test_same_theta_is_chance():
    theta = default_theta()
    accuracies, p_values = [], []
    for rep in range(3):  # one cross-validated accuracy varies more than a binomial
        a = simulate(theta, N, seed=1 + 2 * rep)
        b = simulate(theta, N, seed=2 + 2 * rep)
        res = run_c2st(a, b, families=("all",), seed=rep)
        assert set(res.table.classifier) == {"gb", "lr"}
        accuracies.extend(res.table.accuracy)
        p_values.append(check_c2st(res)["p_value"])
    assert abs(np.mean(accuracies) - 0.5) < _band(6 * 2 * N)
    assert min(p_values) > 0.01


def test_corrected_t_p_values_hold_their_level():
    """On sets of the same distribution the p-value rejects at most at its nominal rate
    (a binomial test on the pooled count rejected 11-13 % of 80 such pairs at 5 %)."""
    rng = np.random.default_rng(0)
    # fold accuracies of a null classifier: folds share training data, so they co-vary
    shared = rng.normal(0, 0.02, size=(2000, 1))
    folds = 0.5 + shared + rng.normal(0, 0.5 / np.sqrt(48), size=(2000, 5))
    p = np.array([corrected_t_p(f, np.full(5, 48)) for f in folds])
    assert np.mean(p < 0.05) <= 0.05
    assert corrected_t_p(np.full(5, 1.0), np.full(5, 48)) < 1e-3  # perfect separation
    assert corrected_t_p(np.full(5, 0.5), np.full(5, 48)) == pytest.approx(0.5)


def test_different_theta_is_told_apart():
    a = simulate(default_theta(), N, seed=1)
    b = simulate({**default_theta(), "hat_16ths": 1.0, "swing_16": 0.3}, N, seed=2)
    head = check_c2st(run_c2st(a, b, seed=0))
    assert head["accuracy"] > 0.97 and head["p_value"] < 0.01


def test_the_family_that_differs_gives_it_away():
    base = default_theta()
    a = simulate(base, N, seed=1)
    quiet = {"snare_velocity": 49.4, "kick_velocity": 61.75, "hat_velocity": 49.4}
    b = simulate({**base, **quiet}, N, seed=2)  # only velocities move
    head = check_c2st(run_c2st(a, b, seed=0))
    by = head["by_family"]
    assert head["giveaway"] == "velocity"
    assert by["velocity"] > 0.95
    assert abs(by["timing"] - 0.5) < _band(2 * N)  # timing is untouched by velocities


def test_agrees_with_sbi_c2st():
    """Our stratified, out-of-fold accuracy and sbi's c2st tell the same story."""
    import torch
    from sbi.utils.metrics import c2st

    a = simulate(default_theta(), N, seed=1)
    b = simulate({**default_theta(), "humanize_ms": 9.0}, N, seed=2)
    xa, xb = c2st_features(a), c2st_features(b)
    ours = run_c2st(xa, xb, families=("all",), classifiers=("lr",), seed=0)
    theirs = float(
        c2st(
            torch.as_tensor(xa, dtype=torch.float32),
            torch.as_tensor(xb, dtype=torch.float32),
            classifier="rf",
            seed=0,
        )
    )
    assert ours.table.accuracy.iloc[0] > 0.8 and theirs > 0.8
    assert abs(ours.table.accuracy.iloc[0] - theirs) < 0.15


def test_families_partition_and_name_instruments():
    aspects = [family_columns(f) for f in ("onsets", "velocity", "timing")]
    together = np.sort(np.concatenate(aspects))
    np.testing.assert_array_equal(together, np.arange(len(C2ST_FEATURE_NAMES)))
    hh_open = {C2ST_FEATURE_NAMES[i] for i in family_columns("hh_open")}
    assert {"density_hh_open", "pos_hh_open_02", "cooc_kick_hat_p2"} <= hh_open
    assert "density_kick" not in hh_open
    assert set(FAMILIES) >= {"onsets", "velocity", "timing", "kick", "cymbal"}
    with pytest.raises(ValueError, match="unknown feature family"):
        family_columns("tom")


def test_small_or_mismatched_sets_are_refused():
    a = simulate(default_theta(), 3, seed=1)
    with pytest.raises(ValueError, match="at least 5 clips"):
        run_c2st(a, a)
    with pytest.raises(ValueError, match="disagree"):
        run_c2st(np.zeros((10, 3)), np.zeros((10, 4)))
