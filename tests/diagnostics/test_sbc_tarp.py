"""SBC and TARP (via sbi) on the toy problem: the exact posterior passes, wrong ones fail."""

from __future__ import annotations

import numpy as np
import pytest
from toy_posterior import TOY_NAMES, ToyPosterior, toy_sets

from technorhythm.diagnostics import check_sbc, check_tarp, run_sbc, run_tarp


def _sbc(posterior, seed=0, m=1000, n_clips=16, n_samples=100, **kw):
    theta, x = toy_sets(m, n_clips, seed=seed)
    res = run_sbc(posterior, theta, x, names=TOY_NAMES, n_samples=n_samples, seed=seed + 1)
    return res, check_sbc(res, **kw)


def test_sbc_exact_posterior_is_calibrated():
    res, table = _sbc(ToyPosterior(), c2st=False)
    assert res.ranks.shape == (1000, 3) and res.ranks.min() >= 0 and res.ranks.max() <= 100
    # Under exact calibration the three KS p-values are uniform: this fixed seed passes the
    # Bonferroni-corrected test, as 95% of seeds would.
    assert table.calibrated.all(), table
    np.testing.assert_allclose(table.rank_mean, 0.5, atol=0.03)
    np.testing.assert_allclose(table.tail_mass, 0.1, atol=0.03)
    assert table.c2st_ranks.isna().all()


def test_sbc_overconfident_posterior_fails():
    _, table = _sbc(ToyPosterior(scale=0.5), c2st=False)
    assert not table.calibrated.any()
    # ranks pile up at both ends: P(|z| > 0.822) = 0.41 of them in the outer 10%
    np.testing.assert_allclose(table.tail_mass, 0.41, atol=0.05)


def test_sbc_biased_posterior_fails_with_sloped_ranks():
    _, table = _sbc(ToyPosterior(shift=-0.3), c2st=False)
    assert not table.calibrated.any()
    assert (table.rank_mean > 0.6).all()  # posterior below the truth → high ranks


@pytest.mark.slow
def test_sbc_c2st_scores():
    # with L = 1000 draws ranks are dense enough that the classifier cannot tell integer
    # ranks from continuous uniforms (with L = 100 and M = 300 it can: c2st ≈ 0.8)
    _, good = _sbc(ToyPosterior(), m=300, n_samples=1000)
    _, bad = _sbc(ToyPosterior(scale=0.3), m=300, n_samples=1000)
    # sbi's C2ST (random forest, 5 folds) on 300 samples scatters by about ±0.05 around 0.5
    assert (good.c2st_ranks < 0.66).all() and (good.c2st_dap < 0.66).all()
    assert (bad.c2st_ranks > 0.7).all()


def test_tarp_exact_posterior_is_calibrated():
    theta, x = toy_sets(500, 16, seed=11)
    res = run_tarp(ToyPosterior(), theta, x, n_samples=200, seed=12, n_clips=16)
    assert res.ecp.shape == res.alpha.shape == (51,)
    assert res.ecp[0] == 0 and res.ecp[-1] == pytest.approx(1.0)
    fig = check_tarp(res)
    assert fig["calibrated"] and abs(fig["atc"]) < 0.03
    # DKW band for 500 sets at 5%: sqrt(ln(40) / 1000)
    assert fig["max_gap"] < fig["dkw_bound"] == pytest.approx(np.sqrt(np.log(40) / 1000))
    assert fig["n_clips"] == 16 and fig["n_sets"] == 500


@pytest.mark.parametrize(("scale", "sign"), [(0.4, -1), (0.7, -1), (1.5, 1), (2.5, 1)])
def test_tarp_detects_over_and_underconfidence(scale, sign):
    theta, x = toy_sets(500, 16, seed=13)
    fig = check_tarp(run_tarp(ToyPosterior(scale=scale), theta, x, n_samples=200, seed=14))
    assert not fig["calibrated"]
    assert np.sign(fig["atc"]) == sign and abs(fig["atc"]) > 0.02
    assert fig["max_gap"] > fig["dkw_bound"]


def test_tarp_is_reproducible_and_leaves_torch_rng_alone():
    import torch

    theta, x = toy_sets(200, 4, seed=15)
    state = torch.random.get_rng_state()
    a = run_tarp(ToyPosterior(), theta, x, n_samples=100, seed=16)
    b = run_tarp(ToyPosterior(), theta, x, n_samples=100, seed=16)
    np.testing.assert_array_equal(a.ecp, b.ecp)
    assert torch.equal(state, torch.random.get_rng_state())
