"""The censored-normal population: sampling, mass on the bounds, mean, hyperprior box."""

from __future__ import annotations

import numpy as np
import pytest

from technorhythm.inference.population import (
    LOC_MARGIN,
    SPREAD_MAX,
    Population,
    hyper_bounds,
    hyper_names,
)
from technorhythm.simulator.knobs import KNOB_NAMES, KNOBS


def test_hyper_box_follows_the_registry():
    box = hyper_bounds()
    k = len(KNOBS)
    assert box.shape == (2 * k, 2)
    for i, knob in enumerate(KNOBS):
        width = knob.high - knob.low
        assert box[i] == pytest.approx(
            [knob.low - LOC_MARGIN * width, knob.high + LOC_MARGIN * width]
        )
        assert box[k + i] == pytest.approx([0.0, SPREAD_MAX * width])
    names = hyper_names()
    assert names[0] == f"{KNOB_NAMES[0]}_loc" and names[k] == f"{KNOB_NAMES[0]}_spread"


def test_loops_are_clipped_and_pile_up_on_the_bounds(rng):
    pop = Population(np.array([[0.0, 1.0], [0.0, 8.0]]), ("a", "b"))
    # a: location below the range → every loop exactly at 0; b: interior, spread 0.5
    psi = np.array([-0.3, 4.0, 0.05, 0.5])
    theta = pop.sample_loops(psi[None], 20000, rng)
    assert theta.shape == (20000, 2)
    assert np.all(theta[:, 0] == 0.0)
    assert theta[:, 1].mean() == pytest.approx(4.0, abs=0.02)
    assert theta[:, 1].std() == pytest.approx(0.5, rel=0.03)
    low, high = pop.mass_at_bounds(psi)
    assert low[0] == pytest.approx(1.0) and high[1] == pytest.approx(0.0, abs=1e-12)


def test_censored_mean_matches_simulation(rng):
    pop = Population(np.array([[0.0, 1.0]]), ("a",))
    for loc, spread in [(0.1, 0.3), (0.9, 0.4), (-0.2, 0.2), (0.5, 1e-9)]:
        psi = np.array([loc, spread])
        sim = pop.sample_loops(psi[None], 200000, rng).mean()
        assert pop.mean(psi)[0] == pytest.approx(sim, abs=0.003)
        share = (pop.sample_loops(psi[None], 200000, rng) == 0).mean()
        assert pop.mass_at_bounds(psi)[0][0] == pytest.approx(share, abs=0.004)


def test_sets_share_their_own_psi(rng):
    pop = Population.from_registry()
    psi = pop.sample_hyper(3, rng)
    box = pop.hyper_bounds
    assert np.all((psi >= box[:, 0]) & (psi <= box[:, 1]))
    psi[:, pop.n_knobs :] = 0.0  # no spread: every loop of a set is its location, clipped
    z = pop.sample_latent(psi, [2, 1, 4], rng)
    assert z.shape == (7, pop.n_knobs)
    np.testing.assert_allclose(z[:2], np.repeat(psi[:1, : pop.n_knobs], 2, axis=0))
    np.testing.assert_allclose(z[3:], np.repeat(psi[2:, : pop.n_knobs], 4, axis=0))


def test_bad_psi_is_named():
    pop = Population.from_registry()
    with pytest.raises(ValueError, match="2K"):
        pop.split(np.zeros(3))
    with pytest.raises(ValueError, match="names"):
        Population(np.array([[0.0, 1.0]]), ("a", "b"))


def test_set_observation_from_shared_stats_is_unchanged(rng):
    """``observe_population_sets(stats=…)`` (the training path) = recomputing everything."""
    from technorhythm.inference.set_summaries import loop_features, observe_population_sets
    from technorhythm.simulator import simulate
    from technorhythm.summaries.features import batch_stats

    pop = Population.from_registry()
    z = pop.sample_latent(pop.sample_hyper(1, rng)[0], 120, rng)
    batch = simulate(pop.clip(z), seed=3)
    groups = np.repeat(np.arange(4), 30)
    plain = observe_population_sets(batch, groups)
    stats = batch_stats(batch)
    shared = observe_population_sets(batch, groups, stats=stats)
    both = observe_population_sets(batch, groups, stats=stats, features=loop_features(batch))
    assert shared.tobytes() == plain.tobytes() == both.tobytes()


def test_rest_component_makes_sequenced_packs(rng):
    """A share REST_SHARE of the hyperprior's packs play a knob with plateaus exactly on one
    in every loop (a dead zone: exactly 0); the rest of the box is untouched, and a toy
    population has no rest knobs."""
    from technorhythm.inference.population import REST_SHARE
    from technorhythm.simulator.patterns import PLATEAUS, SNAPPED, acting_value

    pop = Population.from_registry()
    assert {pop.names[k] for k in pop.rest_knobs} == set(PLATEAUS) > set(SNAPPED)
    psi = pop.sample_hyper(20000, rng)
    box = pop.hyper_bounds
    assert np.all((psi >= box[:, 0]) & (psi <= box[:, 1]))
    theta = pop.sample_loops(psi, 32, rng).reshape(len(psi), 32, -1)
    for k, name in ((pop.names.index(n), n) for n in SNAPPED):
        at_rest = (acting_value(name, theta[:, :, k]) == 0).all(axis=1).mean()
        assert REST_SHARE - 0.015 <= at_rest <= REST_SHARE + 0.1, name  # 0.003 sampling sd
    k = pop.names.index("kick_pulses")
    pulses = acting_value("kick_pulses", theta[:, :, k])
    one_count = (pulses == np.round(pulses[:, :1])).all(axis=1) & (pulses[:, 0] % 1 == 0)
    inside = one_count & (pulses[:, 0] > 0) & (pulses[:, 0] < 8)  # not piled on a bound
    assert REST_SHARE * 7 / 9 - 0.015 <= inside.mean() <= REST_SHARE * 7 / 9 + 0.05
    centres = np.round(psi[one_count, k])  # every whole number of pulses is a rest
    assert set(np.unique(centres)) >= set(range(9))
    # a knob without a dead zone keeps its uniform location
    j = pop.names.index("hat_velocity")
    low, high = box[j]
    assert np.histogram(psi[:, j], bins=10, range=(low, high))[0].min() > 1800
    toy = Population(np.array([[0.0, 1.0]]), ("a",))
    assert toy.rest_knobs == {}
    narrow = Population(np.array([[0.0, 4.0]]), ("kick_pulses",))  # rests only inside
    np.testing.assert_array_equal(narrow.rest_knobs[0][0], [0, 1, 2, 3, 4])


def test_hyper_prior_sd_matches_draws(rng):
    pop = Population.from_registry()
    psi = pop.sample_hyper(400000, rng)
    np.testing.assert_allclose(psi.std(axis=0), pop.hyper_prior_sd(), rtol=0.01)
    toy = Population(np.array([[0.0, 1.0]]), ("a",))
    np.testing.assert_allclose(toy.hyper_prior_sd(), np.diff(toy.hyper_bounds).ravel() / 12**0.5)
