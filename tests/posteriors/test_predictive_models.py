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


def _reads() -> np.ndarray:
    """Three loops' reads of knob b (a not read), one of them NaN: a loop that shows nothing."""
    return np.array([[np.nan, 1.0], [np.nan, 5.0], [np.nan, np.nan]])


def test_new_loops_take_the_reads_of_one_of_the_pack_s_loops(rng):
    hyper = _hyper([0.5, 7.5], [0.1, 0.0], n=5)
    model = PopulationPredictive(hyper, POP, _reads())
    theta = model.draw(400, 30, rng)
    b = theta[:, 1]
    # every loop plays a read (1 or 5) or, for the loop without one, the population's 7.5
    assert set(np.round(b, 6)) == {1.0, 5.0, 7.5}
    assert np.isin(np.round(b, 6), (1.0, 5.0, 7.5)).all()
    # knob a is read by no loop: it comes from the population
    assert theta[:, 0].std() == pytest.approx(0.1, rel=0.1)
    # Bayesian-bootstrap weights per set: the sets' shares of the reads differ, averaging 1/3
    share = (b == 1.0).reshape(400, 30).mean(axis=1)
    assert share.mean() == pytest.approx(1 / 3, abs=0.03)
    assert share.std() > 0.15  # Dirichlet(1, 1, 1) share sd 0.24; a fixed 1/3 gives 0.086
    np.testing.assert_allclose(model.mean(), [0.5, (1.0 + 5.0 + 7.5) / 3])


def test_reads_keep_a_loop_s_knobs_together(rng):
    pop = Population(np.array([[0.0, 10.0]] * 3), ("a", "b", "c"))
    reads = np.array([[1.0, 2.0, np.nan], [8.0, 9.0, np.nan]])
    theta = PopulationPredictive(_hyper([5.0] * 3, [1.0] * 3), pop, reads).draw(50, 20, rng)
    pairs = {tuple(row) for row in np.round(theta[:, :2], 6)}
    assert pairs == {(1.0, 2.0), (8.0, 9.0)}  # never 1 with 9: a loop's design stays whole
    assert theta[:, 2].std() == pytest.approx(1.0, rel=0.1)


def test_reads_are_checked_and_empty_reads_are_dropped():
    hyper = _hyper([0.5, 4.0], [0.1, 1.0])
    assert PopulationPredictive(hyper, POP, np.full((4, 2), np.nan)).reads is None
    with pytest.raises(ValueError, match="reads must be"):
        PopulationPredictive(hyper, POP, np.ones((3, 3)))
    with pytest.raises(ValueError, match="reads must be finite"):
        PopulationPredictive(hyper, POP, np.array([[np.nan, np.inf]]))
    with pytest.raises(ValueError, match="read_se must be"):
        PopulationPredictive(hyper, POP, np.array([[np.nan, 3.0]]), np.array([[0.0, -1.0]]))


def test_a_read_with_its_error_is_pooled_with_the_population(rng):
    """One loop read at 9.0 (beyond knob b's range 0–8) ± 1, the population at 6 ± 1: a new
    loop draws from the normal posterior N(7.5, variance ½) and clips at 8; exact reads (se 0) come
    back as themselves, clipped."""
    hyper = _hyper([0.5, 6.0], [0.1, 1.0], n=3)
    noisy = PopulationPredictive(hyper, POP, np.array([[np.nan, 9.0]]), np.array([[0.0, 1.0]]))
    b = noisy.draw(200, 50, rng)[:, 1]
    latent = b[b < 8.0]
    assert np.mean(b == 8.0) == pytest.approx(0.2398, abs=0.02)  # P(N(7.5, var ½) > 8)
    assert np.median(b) == pytest.approx(7.5, abs=0.05)
    assert latent.min() > 4.5
    exact = PopulationPredictive(hyper, POP, np.array([[np.nan, 9.0]])).draw(5, 4, rng)
    np.testing.assert_allclose(exact[:, 1], 8.0)
