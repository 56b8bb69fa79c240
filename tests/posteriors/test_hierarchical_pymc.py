"""The per-loop route: the smoothed censored density, per-loop ESS, and NUTS on a known answer."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from technorhythm.posteriors.hierarchical_pymc import (
    fit_hierarchical,
    kernel_bandwidth,
    kernel_loglike,
    per_loop_ess,
    smoothed_logpdf,
)

BOUNDS = np.array([[0.0, 1.0]])


@pytest.mark.parametrize(("loc", "spread"), [(0.5, 0.1), (-0.1, 0.05), (0.95, 0.2)])
def test_smoothed_density_integrates_to_one(loc, spread):
    grid = np.linspace(0.0, 1.0, 200001)[:, None]
    dens = np.exp(smoothed_logpdf(grid, np.array([loc]), np.array([spread]), BOUNDS, 0.01))
    assert np.trapezoid(dens[:, 0], grid[:, 0]) == pytest.approx(1.0, abs=2e-3)


def _draw_sets(rng):
    return {
        "interior": rng.uniform(0.3, 0.6, (1, 64, 1)),
        "piled-at-low": np.abs(rng.normal(0.0, 0.03, (1, 64, 1))),
        "near-high": rng.uniform(0.8, 1.0, (1, 64, 1)),
    }


@pytest.mark.parametrize("kind", ["interior", "piled-at-low", "near-high"])
@pytest.mark.parametrize(("loc", "spread"), [(0.5, 0.1), (-0.1, 0.05), (0.95, 0.2), (0.4, 1e-3)])
def test_kernel_loglike_matches_quadrature(kind, loc, spread):
    draws = _draw_sets(np.random.default_rng(3))[kind]
    h = kernel_bandwidth(draws, BOUNDS)
    grid = np.linspace(0.0, 1.0, 100001)
    mirrored = np.concatenate([draws[0, :, 0], -draws[0, :, 0], 2.0 - draws[0, :, 0]])
    q = norm.pdf(grid[:, None], mirrored, h[0, 0]).sum(axis=1) / draws.shape[1]
    assert np.trapezoid(q, grid) == pytest.approx(1.0, abs=1e-6)  # a density on the box
    interior = np.trapezoid(q * norm.pdf(grid, loc, spread), grid)
    masses = norm.cdf(-loc / spread) * q[0] + norm.cdf((loc - 1.0) / spread) * q[-1]
    got = kernel_loglike(draws, np.array([loc]), np.array([spread]), BOUNDS, h)
    assert got.shape == (1, 1)
    assert got[0, 0] == pytest.approx(np.log(interior + masses), abs=1e-6)


def test_kernel_loglike_pytensor_matches_numpy(rng):
    import pytensor.tensor as pt

    bounds = np.array([[0.0, 1.0], [-2.0, 3.0]])
    draws = np.stack([rng.uniform(0, 0.2, (4, 32)), rng.uniform(-2, 0, (4, 32))], axis=-1)
    h = kernel_bandwidth(draws, bounds)
    loc, spread = np.array([0.05, -1.0]), np.array([0.1, 0.7])
    sym = kernel_loglike(draws, pt.as_tensor(loc), pt.as_tensor(spread), bounds, h).eval()
    np.testing.assert_allclose(sym, kernel_loglike(draws, loc, spread, bounds, h), atol=1e-9)


def test_unknown_likelihood_is_refused():
    with pytest.raises(ValueError, match="likelihood must be"):
        fit_hierarchical(np.zeros((2, 4, 1)), BOUNDS, np.array([[0, 1], [0, 1]]), likelihood="x")


def test_per_loop_ess_counts_useful_draws(rng):
    draws = rng.uniform(0.4, 0.6, (3, 500, 1))
    flat = per_loop_ess(draws, np.array([0.5, 10.0]), BOUNDS, 0.01)  # a very wide population
    assert flat == pytest.approx(np.full(3, 500.0), rel=0.01)
    narrow = per_loop_ess(draws, np.array([0.5, 0.002]), BOUNDS, 0.01)
    assert narrow.max() < 50  # few draws fall where a narrow population has its mass


def _noisy_normal_population(rng, *, n_draws: int):
    """200 loops θ_i ~ N(0.5, 0.1²) seen with noise 0.05: (y, per-loop draws of N(y_i, 0.05²))."""
    y = 0.5 + 0.1 * rng.standard_normal(200) + 0.05 * rng.standard_normal(200)
    return y, (y[:, None] + 0.05 * rng.standard_normal((200, n_draws)))[..., None]


@pytest.mark.slow
def test_nuts_recovers_a_normal_population_from_noisy_loops(rng):
    y, draws = _noisy_normal_population(rng, n_draws=200)
    box = np.array([[-0.5, 1.5], [0.0, 0.5]])
    fit = fit_hierarchical(draws, BOUNDS, box, n_draws=400, n_tune=400, seed=1)
    loc, spread = fit.hyper[:, 0], fit.hyper[:, 1]
    assert fit.rhat_max <= 1.01 and fit.ess_bulk_min > 100
    # marginally y_i ~ N(loc, spread² + 0.05²)
    assert loc.mean() == pytest.approx(y.mean(), abs=3 * loc.std())
    expected_spread = np.sqrt(max(y.var() - 0.05**2, 0.0))
    assert spread.mean() == pytest.approx(expected_spread, abs=3 * spread.std() + 0.01)
    assert np.median(fit.loop_ess) > 20


@pytest.mark.slow
def test_kernel_nuts_recovers_a_normal_population_from_noisy_loops(rng):
    y, draws = _noisy_normal_population(rng, n_draws=64)
    box = np.array([[-0.5, 1.5], [0.0, 0.5]])
    fit = fit_hierarchical(draws, BOUNDS, box, likelihood="kernel", n_draws=400, n_tune=400)
    loc, spread = fit.hyper[:, 0], fit.hyper[:, 1]
    assert fit.rhat_max <= 1.01 and fit.ess_bulk_min > 100
    assert loc.mean() == pytest.approx(y.mean(), abs=3 * loc.std())
    expected_spread = np.sqrt(max(y.var() - 0.05**2, 0.0))
    assert spread.mean() == pytest.approx(expected_spread, abs=3 * spread.std() + 0.01)


@pytest.mark.slow
def test_kernel_nuts_puts_a_pack_on_its_bound(rng):
    # every loop at 0: each loop's posterior piles against the lower bound
    # The posterior is a wedge (any loc far enough below 0 for its spread): it needs
    # longer chains than an interior population to reach R-hat 1.01.
    draws = np.abs(0.04 * rng.standard_normal((40, 64, 1)))
    box = np.array([[-0.5, 1.5], [0.0, 0.5]])
    fit = fit_hierarchical(draws, BOUNDS, box, likelihood="kernel", n_draws=1500, n_tune=1500)
    loc, spread = fit.hyper[:, 0], fit.hyper[:, 1]
    assert fit.rhat_max <= 1.01
    share_on_bound = norm.cdf(-loc / spread)  # P(θ = 0) of a new loop
    assert np.median(share_on_bound) > 0.5
    assert np.quantile(share_on_bound, 0.03) > 0.2
