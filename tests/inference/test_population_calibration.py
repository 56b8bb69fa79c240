"""The population estimator, calibrated on a toy population with a cheap simulator.

Toy: two knobs on [0, 1]; a pack of N loops has θ_i = clip(Normal(loc, spread)) per knob
and every loop is seen as its θ_i plus noise 0.05 (clipped to [-0.2, 1.2]). The set
observation is the loops' mean, sd and share exactly at 0 or 1 per knob, plus log2(N)/10;
a loop's features are its noisy values. Trained on a few thousand packs, the pack network
must be calibrated on fresh packs — including packs with every loop on a bound — and the
loop network must pool.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from technorhythm.diagnostics import check_hpd_coverage, run_hpd_ranks
from technorhythm.inference.population import Population
from technorhythm.inference.population_data import PopulationData
from technorhythm.inference.population_estimator import PopulationEstimator

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Maximum number of epochs")]

BOUNDS = np.array([[0.0, 1.0], [0.0, 1.0]])
POP = Population(BOUNDS, ("a", "b"))


def _packs(m: int, rng: np.random.Generator, n_max: int = 64):
    psi = POP.sample_hyper(m, rng)
    n = np.floor(2.0 ** rng.uniform(0, np.log2(n_max + 1), m)).astype(int)
    z = POP.sample_latent(psi, n, rng)
    feats = np.clip(POP.clip(z) + 0.05 * rng.standard_normal(z.shape), -0.2, 1.2)
    groups = np.repeat(np.arange(m), n)
    theta = POP.clip(z)
    x = np.zeros((m, 7))
    for j in range(m):
        f, t = feats[groups == j], theta[groups == j]
        at_bound = ((t == 0) | (t == 1)).mean(axis=0)
        x[j] = [*f.mean(axis=0), *f.std(axis=0), *at_bound, np.log2(n[j]) / 10]
    first = np.r_[0, np.cumsum(n)[:-1]]
    return psi, x, z[first], feats[first], np.arange(m), n


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    psi, x, z, f, loop_set, _ = _packs(6000, rng)
    est = PopulationEstimator(
        pack={"hidden_features": 32, "num_transforms": 4, "embedding_features": (32,),
              "max_num_epochs": 150},
        loop={"hidden_features": 32, "num_transforms": 3, "max_num_epochs": 150},
        bounds=BOUNDS, names=("a", "b"), seed=1,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(PopulationData(psi, x, z, f, loop_set))
    return est


def test_pack_network_is_calibrated_on_fresh_packs(trained):
    rng = np.random.default_rng(5)
    psi, x, *_ = _packs(300, rng)
    draws = trained.sample_hyper(x, 200, seed=3)
    ranks = (draws < psi[None]).mean(axis=0)  # (M, 4) normalised SBC ranks
    # A trained network's own bias, not sampling noise (0.017 sd over 300 packs): over 16
    # trainings of this fixture (seeds 1-8, zuko's spline and ours) the first entry's mean
    # rank was 0.419-0.500, 0.45 on average, and 0.47 with 2 × 6 000 packs; the others
    # 0.45-0.56. 0.1 still fails a network whose posterior sits a quarter of its sd off.
    assert np.all(np.abs(ranks.mean(axis=0) - 0.5) < 0.1)
    hpd = check_hpd_coverage(
        run_hpd_ranks(trained.log_prob_hyper(psi[None], x)[0], trained.log_prob_hyper(draws, x)),
        tolerance=0.08,
    )
    assert hpd.ok.all(), hpd


def test_packs_on_a_bound_are_found_on_it(trained):
    rng = np.random.default_rng(7)
    psi = POP.sample_hyper(200, rng)
    psi[:, 0] = rng.uniform(-0.5, -0.1, 200)  # knob a: every loop at 0
    psi[:, 2] = rng.uniform(0.0, 0.03, 200)
    n = np.full(200, 32)
    z = POP.sample_latent(psi, n, rng)
    feats = np.clip(POP.clip(z) + 0.05 * rng.standard_normal(z.shape), -0.2, 1.2)
    theta = POP.clip(z)
    groups = np.repeat(np.arange(200), 32)
    x = np.array(
        [
            [*feats[groups == j].mean(0), *feats[groups == j].std(0),
             *((theta[groups == j] == 0) | (theta[groups == j] == 1)).mean(0), np.log2(32) / 10]
            for j in range(200)
        ]
    )  # fmt: skip
    draws = trained.sample_hyper(x, 200, seed=4)
    mean_a = POP.mean(draws)[..., 0]  # (S, M): the loops' mean value of knob a
    # the truth is 0 (every loop on the bound): the bound is inside every 90% interval, and
    # the posterior sits against it (a one-θ flow on raw logits stopped 0.0067 short)
    assert np.quantile(mean_a, 0.05, axis=0).max() < 1e-3
    assert np.median(np.median(mean_a, axis=0)) < 0.01


def test_loop_network_pools_towards_the_pack(trained):
    rng = np.random.default_rng(9)
    psi = np.array([[0.3, 0.7, 0.02, 0.02]])  # a tight pack
    feats = np.array([[0.45, 0.55]])  # one noisy loop, 0.15 away from its pack
    hyper = np.repeat(psi, 300, axis=0)
    loops = trained.sample_loops(feats, hyper, seed=2)[:, 0]
    # the pack is 0.02 wide, the loop's noise 0.05: the exact posterior mean is 0.321 (a)
    # and 0.679 (b), 86% of the way home; this small network pulled knob b 45% of the way
    # and knob a more than half (measured), so ask for at least a third
    assert abs(loops[:, 0].mean() - 0.3) < abs(0.45 - 0.3) * 2 / 3
    assert abs(loops[:, 1].mean() - 0.7) < abs(0.55 - 0.7) * 2 / 3
    del rng
