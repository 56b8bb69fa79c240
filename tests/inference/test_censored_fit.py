"""The censored fit of a pack's reads of one knob: weighted quantiles, the median and
median absolute deviation inside the range, the censored likelihood with the reads' noise
on a bound."""

from __future__ import annotations

import numpy as np
import pytest

from technorhythm.inference.censored_fit import (
    censored_location_spread,
    censored_loglik,
    weighted_median,
    weighted_quantile,
)


def test_weighted_median_by_hand():
    values = np.array([[3.0, 1.0, 2.0, 10.0]])
    np.testing.assert_array_equal(weighted_median(values, np.full((1, 4), 0.25)), [2.0])
    np.testing.assert_array_equal(weighted_median(values, [[0.1, 0.1, 0.1, 0.7]]), [10.0])
    np.testing.assert_array_equal(weighted_median(values, [[0.6, 0.2, 0.1, 0.1]]), [3.0])
    rng = np.random.default_rng(28)
    shared, g = rng.normal(size=(1, 50)), rng.dirichlet(np.ones(50), size=30)
    q = rng.random(30)
    np.testing.assert_array_equal(  # one row of values for every row of weights: one sort
        weighted_quantile(shared, g, q), weighted_quantile(np.repeat(shared, 30, 0), g, q)
    )


@pytest.mark.parametrize("normal_noise", [True, False])
@pytest.mark.parametrize(
    ("loc", "spread"),
    [(60.0, 20.0), (125.0, 15.0), (140.0, 20.0), (5.0, 10.0), (110.0, 50.0), (70.0, 50.0)],
)
def test_a_censored_normal_is_read_from_its_clipped_values(loc, spread, normal_noise):
    # exact reads: the likelihood and the quantile arithmetic both find the population
    rng = np.random.default_rng(27)
    values = np.clip(loc + spread * rng.standard_normal(20_000), 10, 127)
    weights = np.full((1, len(values)), 1 / len(values))
    got_loc, got_spread = censored_location_spread(
        values, weights, 10.0, 127.0, normal_noise=normal_noise
    )
    assert got_loc[0] == pytest.approx(loc, abs=0.03 * spread + 0.3)
    assert got_spread[0] == pytest.approx(spread, rel=0.05)


def test_a_pack_on_one_bound_reads_as_that_bound():
    values = np.full(30, 127.0)
    loc, spread = censored_location_spread(values, np.full((2, 30), 1 / 30), 10.0, 127.0)
    np.testing.assert_array_equal(loc, [127.0, 127.0])
    np.testing.assert_array_equal(spread, [0.0, 0.0])


def test_reads_at_a_bound_within_their_noise_count_as_on_it():
    # three quarters of the loops at the lowest level, read 10 ± their noise; a quarter louder
    rng = np.random.default_rng(40)
    values = np.concatenate([10 + 0.05 * rng.standard_normal(150), rng.uniform(20, 60, 50)])
    se = np.full(len(values), 0.05)
    weights = np.full((1, len(values)), 1 / len(values))
    loc, spread = censored_location_spread(values, weights, 10.0, 127.0, se=se)
    assert loc[0] < 0 and 20 < spread[0] < 80  # a censored normal: 75 % below 10, tail to 60


def test_the_censored_likelihood_is_a_distribution_of_the_reads():
    # the density of the reads inside the range and the chances of a read on either bound
    # (clipped there) add up to 1, whatever the population and the noise
    e = np.linspace(0.0, 1.0, 20_001)
    cases = [
        (0.5, 0.1, 0.02),
        (1.2, 0.3, 0.05),
        (-0.1, 0.05, 0.01),
        (0.3, 0.0, 0.1),
        (0.98, 0.2, 0.1),
    ]
    for loc, spread, se in cases:
        loglik = censored_loglik(e, np.full(len(e), se), np.array([loc]), np.array([spread]))
        like = np.exp(loglik[:, 0])
        total = np.trapezoid(like[1:-1], e[1:-1]) + like[0] + like[-1]
        assert total == pytest.approx(1.0, abs=2e-3)


def test_a_read_on_a_bound_is_the_chance_of_a_read_beyond_it():
    # spread 0 inside the range: a read clipped to the upper bound is P(θ + noise ≥ 1)
    from scipy.stats import norm

    loglik = censored_loglik(
        np.array([1.0, 0.0]), np.array([0.05, 0.05]), np.array([0.93]), np.array([0.0])
    )
    like = (np.exp(loglik[:, 0]) - 0.01 * 0.01 / 1.02) / 0.99  # the misread share taken out
    np.testing.assert_allclose(like, [norm.sf(0.07 / 0.05), norm.cdf(-0.93 / 0.05)], atol=1e-9)
    # every draw beyond the bound: half its reads fall above it
    loglik = censored_loglik(np.array([1.0]), np.array([0.05]), np.array([1.5]), np.array([0.1]))
    assert (np.exp(loglik[0, 0]) - 0.01 * 0.01 / 1.02) / 0.99 == pytest.approx(0.5, abs=1e-6)


def _population_mean(loc, spread, low, high):
    z = np.linspace(-6, 6, 2001)
    w = np.exp(-0.5 * z**2)
    return float(np.sum(np.clip(loc + spread * z, low, high) * w) / np.sum(w))


@pytest.mark.parametrize(("level", "se"), [(126.97, 0.95), (135.0, 5.0), (13.0, 4.0)])
def test_noisy_reads_of_a_pack_on_a_bound_do_not_make_a_tail(level, se):
    """Every loop plays the same level at or next to a bound, and each read carries noise
    (clipped to the range): the reads that noise carries away from the bound are noise, not
    the population's tail, and the pack's mean value stays where its loops play."""
    rng = np.random.default_rng(41)
    truth = float(np.clip(level, 10, 127))
    values = np.clip(truth + se * rng.standard_normal(256), 10, 127)
    weights = rng.dirichlet(np.ones(256), size=50)
    loc, width = censored_location_spread(values, weights, 10.0, 127.0, se=np.full(256, se))
    spread = np.sqrt(np.maximum(width**2 - se**2, 0))  # the reads' noise taken out
    means = [_population_mean(a, b, 10, 127) for a, b in zip(loc, spread, strict=True)]
    assert np.median(spread) < se
    assert abs(np.median(means) - truth) < 0.1 * se
