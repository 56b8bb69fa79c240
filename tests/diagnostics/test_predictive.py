"""The combined predictive check: same θ sits at its noise floor, a different θ does not."""

from __future__ import annotations

import numpy as np
import pytest

from technorhythm.diagnostics.predictive import check_predictive, run_predictive_check
from technorhythm.simulator import simulate
from technorhythm.simulator.knobs import default_theta

THETA = default_theta()


@pytest.fixture(scope="module")
def same():
    real = simulate(THETA, 80, seed=1)
    return check_predictive(
        run_predictive_check(
            real, simulate(THETA, 256, seed=2), simulate({**THETA, "hat_16ths": 1.0}, 256, seed=3)
        )
    )


def test_same_theta_is_within_its_floor(same):
    # the distance of a half to a same-sized generated set is the real-vs-real distance
    assert same["d_ratio"] < 1.3
    assert same["closer_than_prior"]
    assert same["c2st_p"] > 0.01
    assert same["onset_in_band"] > 0.85
    assert same["c2st_prior"] > 0.95  # the other set is easy to tell apart


def test_same_theta_c2st_is_chance():
    # one pair of 80 + 80 clips scatters by ± 0.04 (more with the better of two classifiers),
    # so the mean of three independent pairs is held to chance
    scores = []
    for s in (1, 11, 21):
        real, other = simulate(THETA, 80, seed=s), simulate(THETA, 256, seed=s + 1)
        prior = simulate({**THETA, "hat_16ths": 1.0}, 256, seed=s + 2)
        scores.append(check_predictive(run_predictive_check(real, other, prior))["c2st"])
    assert abs(np.mean(scores) - 0.5) < 2.58 * 0.5 / np.sqrt(480) + 0.03


def test_a_different_theta_is_far_from_its_floor():
    real = simulate(THETA, 80, seed=1)
    other = {**THETA, "kick_pulses": 2.0, "snare_velocity": 59.1, "swing_16": 0.25}
    check = run_predictive_check(real, simulate(other, 256, seed=2), simulate(THETA, 256, seed=3))
    row = check_predictive(check)
    assert row["d_ratio"] > 3 and not row["closer_than_prior"]
    assert row["c2st"] > 0.97 and row["c2st_p"] < 0.01  # 5 folds: p cannot go much lower
    err, floor = check.histograms["onset"].rel_error_by_instrument["kick"]
    assert err > 3 * floor  # the kick row moved
    snare_err, snare_floor = check.histograms["onset"].rel_error_by_instrument["snare"]
    assert snare_err < 1.5 * snare_floor  # the snare did not


def test_tiny_groups_report_what_is_missing():
    real = simulate(THETA, 3, seed=1)
    check = run_predictive_check(real, simulate(THETA, 64, seed=2), simulate(THETA, 64, seed=3))
    assert check.c2st is None and check.distances.empty
    assert any("noise floor" in n for n in check.notes) and any("C2ST" in n for n in check.notes)
    row = check_predictive(check)
    assert "c2st" not in row and "d_ratio" not in row and "onset_in_band" in row
