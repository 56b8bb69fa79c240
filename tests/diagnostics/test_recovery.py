"""Recovery on the toy problem: known RMSE, nominal coverage, and failure when overconfident."""

from __future__ import annotations

import numpy as np
import pytest
from toy_posterior import TOY_NAMES, ToyPosterior, toy_sets

from technorhythm.diagnostics import check_recovery, run_recovery


@pytest.mark.parametrize("n_clips", [1, 16])
def test_exact_posterior_recovers_with_known_error(n_clips):
    theta, x = toy_sets(2000, n_clips, seed=1)
    res = run_recovery(
        ToyPosterior(), theta, x, names=TOY_NAMES, n_samples=400, seed=2, n_clips=n_clips
    )
    table = check_recovery(res, prior_sd=np.ones(3))
    assert list(table.knob) == list(TOY_NAMES)
    assert (table.n_clips == n_clips).all() and (table.n_sets == 2000).all()
    # Bayes risk of the posterior mean = posterior variance 1 / (N + 1)
    np.testing.assert_allclose(table.rmse, np.sqrt(1 / (n_clips + 1)), rtol=0.06)
    np.testing.assert_allclose(table.r2, n_clips / (n_clips + 1), atol=0.04)
    np.testing.assert_allclose(table.coverage, 0.9, atol=0.025)
    assert table.coverage_ok.all()
    # interval width: 2 · 1.645 · sd over the prior "range" √12
    np.testing.assert_allclose(
        table.width, 2 * 1.6449 / np.sqrt(n_clips + 1) / np.sqrt(12), rtol=0.03
    )
    np.testing.assert_allclose(table.bias, 0.0, atol=0.05)


def test_overconfident_posterior_fails_coverage():
    theta, x = toy_sets(1000, 16, seed=3)
    res = run_recovery(ToyPosterior(scale=0.5), theta, x, names=TOY_NAMES, n_samples=400, seed=4)
    table = check_recovery(res)
    # the nominal 90% interval is ±1.645 · sd/2: true coverage P(|z| < 0.822) = 0.589
    np.testing.assert_allclose(table.coverage, 0.589, atol=0.04)
    assert not table.coverage_ok.any()


def test_biased_posterior_shows_bias():
    theta, x = toy_sets(1000, 16, seed=5)
    res = run_recovery(ToyPosterior(shift=0.3), theta, x, names=TOY_NAMES, n_samples=200, seed=6)
    table = check_recovery(res)
    np.testing.assert_allclose(table.bias, 0.3, atol=0.03)
    assert not table.coverage_ok.any()


def test_seed_makes_it_reproducible():
    theta, x = toy_sets(50, 4, seed=7)
    a = run_recovery(ToyPosterior(), theta, x, names=TOY_NAMES, n_samples=50, seed=8)
    b = run_recovery(ToyPosterior(), theta, x, names=TOY_NAMES, n_samples=50, seed=8)
    np.testing.assert_array_equal(a.mean, b.mean)


def test_bad_input_is_named():
    theta, x = toy_sets(10, 4, seed=9)
    with pytest.raises(ValueError, match="same M"):
        run_recovery(ToyPosterior(), theta[:5], x, names=TOY_NAMES)
    with pytest.raises(ValueError, match="names"):
        run_recovery(ToyPosterior(), theta, x, names=("a",))
    with pytest.raises(ValueError, match="level"):
        run_recovery(ToyPosterior(), theta, x, names=TOY_NAMES, level=1.0)
    with pytest.raises(TypeError, match="sample_batched"):
        run_recovery(object(), theta, x, names=TOY_NAMES)


def test_precomputed_samples_serve_every_diagnostic():
    from technorhythm.diagnostics import PrecomputedSamples, run_sbc

    theta, x = toy_sets(200, 16, seed=10)
    cached = PrecomputedSamples.from_sampler(ToyPosterior(), x, 100, seed=11)
    direct = run_recovery(ToyPosterior(), theta, x, names=TOY_NAMES, n_samples=100, seed=11)
    again = run_recovery(cached, theta, x, names=TOY_NAMES, n_samples=100, seed=999)
    np.testing.assert_array_equal(direct.mean, again.mean)  # same draws whatever the seed
    sbc = run_sbc(cached, theta, x, names=TOY_NAMES, n_samples=100)
    draws = cached.draws
    np.testing.assert_array_equal(
        sbc.ranks, (draws.astype(np.float32) < theta.astype(np.float32)).sum(axis=0)
    )
    sub = cached.sample_batched(x[[5, 2]], 10, seed=0)
    np.testing.assert_array_equal(sub, draws[:10, [5, 2]])
    with pytest.raises(KeyError, match="no stored draws"):
        cached.sample_batched(x[:1] + 1.0, 10, seed=0)
    with pytest.raises(ValueError, match="only 100 draws"):
        cached.sample_batched(x[:1], 101, seed=0)
