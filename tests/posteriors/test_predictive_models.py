"""The population model's predictives: sets share a ψ draw; a corpus keeps its packs' modes."""

from __future__ import annotations

import numpy as np
import pytest

from technorhythm.inference.population import Population
from technorhythm.posteriors.predictive_models import CorpusPredictive, PopulationPredictive

POP = Population(np.array([[0.0, 1.0], [0.0, 8.0]]), ("a", "b"))


def _hyper(loc: list[float], spread: list[float], n: int = 1) -> np.ndarray:
    return np.tile(np.array(loc + spread, dtype=float), (n, 1))


def test_sets_share_one_hyperparameter_draw(rng):
    # two posterior draws: locations 0.2 and 0.8 with no spread → every set is all 0.2 or 0.8
    hyper = np.concatenate([_hyper([0.2, 2.0], [0.0, 0.0]), _hyper([0.8, 6.0], [0.0, 0.0])])
    theta = PopulationPredictive(hyper, POP).draw(50, 7, rng)
    assert theta.shape == (350, 2)
    per_set = theta[:, 0].reshape(50, 7)
    assert np.all(per_set == per_set[:, :1])  # one ψ per set
    assert {0.2, 0.8} == set(np.round(per_set[:, 0], 6))


def test_loops_vary_within_a_set_and_reach_the_bound(rng):
    hyper = _hyper([-0.5, 4.0], [0.05, 1.0], n=10)
    theta = PopulationPredictive(hyper, POP).draw(20, 500, rng)
    assert np.all(theta[:, 0] == 0.0)  # the whole population on the lower bound
    assert theta[:, 1].std() == pytest.approx(1.0, rel=0.05)


def test_corpus_keeps_both_packs_and_their_shares(rng):
    low = PopulationPredictive(_hyper([0.1, 1.0], [0.01, 0.1]), POP)
    high = PopulationPredictive(_hyper([0.9, 7.0], [0.01, 0.1]), POP)
    theta = CorpusPredictive([low, high], [30, 10]).draw(40, 100, rng)
    assert theta.shape == (4000, 2)
    near_low = np.abs(theta[:, 0] - 0.1) < 0.05
    near_high = np.abs(theta[:, 0] - 0.9) < 0.05
    assert np.all(near_low | near_high)  # two modes, nothing in between
    assert near_low.mean() == pytest.approx(0.75, abs=0.03)
    # knobs stay paired within a pack: no loop mixes pack 1's a with pack 2's b
    assert np.all(theta[near_low, 1] < 2) and np.all(theta[near_high, 1] > 6)


def test_corpus_needs_sizes():
    one = PopulationPredictive(_hyper([0.1, 1.0], [0.01, 0.1]), POP)
    with pytest.raises(ValueError, match="one size per pack"):
        CorpusPredictive([one], [])
    with pytest.raises(ValueError, match="at least one loop"):
        CorpusPredictive([one], [0])
