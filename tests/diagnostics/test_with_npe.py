"""The diagnostics on a real sbi NPE (PosteriorEstimator) trained on a toy problem."""

from __future__ import annotations

import numpy as np
import pytest

from technorhythm.diagnostics import (
    PrecomputedSamples,
    check_recovery,
    check_sbc,
    check_tarp,
    run_recovery,
    run_sbc,
    run_tarp,
)

BOUNDS = np.array([[-3.0, 3.0], [-3.0, 3.0]])


def _toy(m: int, rng: np.random.Generator, n_clips: int | None = None):
    """θ uniform in the box; x = (mean of N unit-variance draws, log2(N)/10)."""
    theta = BOUNDS[:, 0] + rng.random((m, 2)) * (BOUNDS[:, 1] - BOUNDS[:, 0])
    n = rng.integers(1, 17, m) if n_clips is None else np.full(m, n_clips)
    ybar = theta + rng.standard_normal((m, 2)) / np.sqrt(n)[:, None]
    return theta, np.column_stack([ybar, np.log2(n) / 10])


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_trained_npe_is_calibrated_and_recovers():
    from technorhythm.inference import PosteriorEstimator

    rng = np.random.default_rng(0)
    theta, x = _toy(3000, rng)
    est = PosteriorEstimator(
        bounds=BOUNDS,
        names=("a", "b"),
        hidden_features=32,
        num_transforms=2,
        max_num_epochs=60,
        seed=0,
    )
    est.fit(theta, x)
    theta_v, x_v = _toy(300, rng, n_clips=4)
    cached = PrecomputedSamples.from_sampler(est, x_v, 200, seed=1)
    rec = check_recovery(run_recovery(cached, theta_v, x_v, names=("a", "b"), n_samples=200))
    # the exact posterior is N(ȳ, 1/4): RMSE of its mean 0.5 (a little less near the walls)
    assert rec.rmse.between(0.4, 0.6).all(), rec
    assert rec.coverage.between(0.84, 0.96).all(), rec
    sbc = check_sbc(run_sbc(cached, theta_v, x_v, names=("a", "b"), n_samples=200), c2st=False)
    assert sbc.calibrated.all(), sbc
    assert check_tarp(run_tarp(cached, theta_v, x_v, n_samples=200))["calibrated"]
