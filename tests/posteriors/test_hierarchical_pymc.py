"""The per-loop route: the smoothed censored density, per-loop ESS, and NUTS on a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from technorhythm.posteriors.hierarchical_pymc import (
    fit_hierarchical,
    per_loop_ess,
    smoothed_logpdf,
)

BOUNDS = np.array([[0.0, 1.0]])


@pytest.mark.parametrize(("loc", "spread"), [(0.5, 0.1), (-0.1, 0.05), (0.95, 0.2)])
def test_smoothed_density_integrates_to_one(loc, spread):
    grid = np.linspace(0.0, 1.0, 200001)[:, None]
    dens = np.exp(smoothed_logpdf(grid, np.array([loc]), np.array([spread]), BOUNDS, 0.01))
    assert np.trapezoid(dens[:, 0], grid[:, 0]) == pytest.approx(1.0, abs=2e-3)


def test_per_loop_ess_counts_useful_draws(rng):
    draws = rng.uniform(0.4, 0.6, (3, 500, 1))
    flat = per_loop_ess(draws, np.array([0.5, 10.0]), BOUNDS, 0.01)  # a very wide population
    assert flat == pytest.approx(np.full(3, 500.0), rel=0.01)
    narrow = per_loop_ess(draws, np.array([0.5, 0.002]), BOUNDS, 0.01)
    assert narrow.max() < 50  # few draws fall where a narrow population has its mass


@pytest.mark.slow
def test_nuts_recovers_a_normal_population_from_noisy_loops(rng):
    # loops θ_i ~ N(0.5, 0.1²), seen with noise 0.05: per-loop posteriors N(y_i, 0.05²)
    theta = 0.5 + 0.1 * rng.standard_normal(200)
    y = theta + 0.05 * rng.standard_normal(200)
    draws = (y[:, None] + 0.05 * rng.standard_normal((200, 200)))[..., None]
    box = np.array([[-0.5, 1.5], [0.0, 0.5]])
    fit = fit_hierarchical(draws, BOUNDS, box, n_draws=400, n_tune=400, seed=1)
    loc, spread = fit.hyper[:, 0], fit.hyper[:, 1]
    assert fit.rhat_max <= 1.01 and fit.ess_bulk_min > 100
    # marginally y_i ~ N(loc, spread² + 0.05²)
    assert loc.mean() == pytest.approx(y.mean(), abs=3 * loc.std())
    expected_spread = np.sqrt(max(y.var() - 0.05**2, 0.0))
    assert spread.mean() == pytest.approx(expected_spread, abs=3 * spread.std() + 0.01)
    assert np.median(fit.loop_ess) > 20
