"""The onset block: decisions counted from the hits, likelihoods on a grid, pooled per pack."""

from __future__ import annotations

import numpy as np
import pytest

from technorhythm.inference.grid_pool import (
    GRID,
    GridReads,
    draw_grid_block,
    draw_grid_loops,
    grid_log_posterior,
    population_on_grid,
)
from technorhythm.inference.hit_blocks import BLOCKS, blocks_to_read, draw_block, replace_block
from technorhythm.inference.onset_block import ONSET_KNOBS, onset_counts, read_onsets
from technorhythm.inference.population import Population
from technorhythm.inference.prior import sample_prior
from technorhythm.simulator import simulate
from technorhythm.simulator.knobs import KNOB_NAMES, default_theta, theta_to_array
from technorhythm.simulator.patterns import ramp

COLS = [KNOB_NAMES.index(k) for k in ONSET_KNOBS]


def _clip(**rows) -> np.ndarray:
    """One clip (1, 5, 64): ``rows`` maps a row (kick, snare, closed, open, cymbal) to the
    steps of one bar that play (velocity 100) in all four bars, or to (bar, steps) pairs."""
    v = np.zeros((1, 5, 64), np.uint8)
    names = ("kick", "snare", "closed", "open", "cymbal")
    for name, steps in rows.items():
        pairs = [s if isinstance(s, tuple) else None for s in steps]
        if None in pairs:
            pairs = [(bar, pos) for bar in range(4) for pos in steps]
        for bar, pos in pairs:
            v[0, names.index(name), 16 * bar + pos] = 100
    return v


def test_repeated_bars_and_shared_beats_count_once():
    hats = [0, 2, 4, 6, 8, 10, 12, 14]  # every 8th, the same in every beat and bar
    counts = onset_counts(_clip(snare=[4, 12], closed=hats))
    hits, trials, share, _ = counts["backbeat"]
    assert (hits[0, 0], trials[0, 0]) == (8.0, 8.0)  # every step seen ...
    assert share[0, 0] == pytest.approx(0.25)  # ... one bar of decisions
    hits, trials, share, _ = counts["hat_offbeats"]
    assert (hits[0, 0], trials[0, 0]) == (16.0, 16.0)
    assert share[0, 0] * trials[0, 0] == pytest.approx(1.0)  # one shared decision
    hits, trials, _, _ = counts["hat_16ths"]
    assert (hits[0, 0], trials[0, 0]) == (0.0, 32.0)


def test_an_open_hat_hides_the_closed_hat_on_its_step():
    counts = onset_counts(_clip(open=[2, 6, 10, 14], closed=[0, 4, 8, 12]))
    assert counts["hat_offbeats"][1][0, 0] == 0.0  # every off-beat 8th choked: not seen
    assert counts["hat_beats"][0][0, 0] == 16.0
    assert counts["open_hat"][0][0, 0] == 16.0


def test_a_crash_is_counted_where_the_ride_is_off():
    crash_bar_one = _clip(cymbal=[(0, 0)])  # and no ride
    hits, trials, _, weights = onset_counts(crash_bar_one)["crash"]
    np.testing.assert_array_equal(hits[0], [1.0, 0.0])
    np.testing.assert_array_equal(trials[0], [1.0, 3.0])
    np.testing.assert_array_equal(weights, [2.0, 1.0])
    ride_on_beats = _clip(cymbal=[0, 4, 8, 12])  # a downbeat may be the ride: not seen
    assert onset_counts(ride_on_beats)["crash"][1].sum() == 0.0


@pytest.mark.parametrize("preset", ["minimal", "peak-time", "broken-electro", "live-kit"])
def test_a_preset_pack_is_read_at_its_acting_values(preset):
    from technorhythm.simulator.preset_io import load_preset

    theta = theta_to_array({**default_theta(), **load_preset(preset)})
    reads = read_onsets(simulate(np.tile(theta, (300, 1)), seed=3).velocity)
    total = reads.loglik.sum(axis=0)  # (J, X): the pack's likelihood, one θ
    for j, col in enumerate(COLS):
        best = GRID[total[j] >= total[j].max() - 1e-6]
        if np.ptp(ramp(best)) > 0.5:
            continue  # not seen in this pack (a hat under an open hat; a crash under a ride)
        assert np.min(np.abs(ramp(best) - ramp(theta[col]))) < 0.05, ONSET_KNOBS[j]


def test_the_grid_population_is_a_censored_normal():
    p = population_on_grid(np.array([0.3, -0.2, 0.5]), np.array([0.1, 0.1, 0.0]))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert p[0] @ GRID == pytest.approx(0.3, abs=1e-3)
    assert p[1, 0] > 0.97  # mostly below the range: on the lower bound
    assert p[2, np.argmin(np.abs(GRID - 0.5))] == 1.0


def _sharp(values: np.ndarray) -> GridReads:
    """Reads whose likelihood pins each loop's value (one knob)."""
    loglik = -0.5 * ((GRID[None] - values[:, None]) / 0.01) ** 2
    return GridReads.from_loglik(loglik[:, None], np.ones((len(values), 1), bool))


def test_a_pack_of_known_values_gets_their_location_and_spread():
    rng = np.random.default_rng(0)
    values = np.clip(0.4 + 0.1 * rng.standard_normal(400), 0, 1)
    reads = _sharp(values)
    loc, spread, cell = draw_grid_block(reads, rng, np.array([0]), 200)
    assert abs(np.median(loc) - 0.4) < 0.02 and abs(np.median(spread) - 0.1) < 0.02
    loops = draw_grid_loops(reads, np.array([0]), cell, rng)
    assert np.abs(loops[..., 0] - values[None]).max() < 0.06


def test_the_grid_posterior_is_calibrated_on_packs_it_models():
    """Packs of 16 loops from populations drawn from the hyperprior, each loop deciding 8
    steps at its chance ramp(θ_i): the 90 % intervals of the loops' mean value E[θ] drawn by
    draw_grid_block cover the truth in about 90 % of packs (the best cell under bootstrap
    weights, which the block drew before, covered 0.76 of these packs)."""
    rng = np.random.default_rng(11)
    pop = Population(np.array([[0.0, 1.0]]), ("x",))
    chance = np.clip(ramp(GRID), 1e-6, 1 - 1e-6)
    inside = []
    for _ in range(200):
        psi = pop.sample_hyper(1, rng)[0]
        hits = rng.binomial(8, ramp(np.clip(rng.normal(psi[0], psi[1], 16), 0.0, 1.0)))
        loglik = hits[:, None] * np.log(chance) + (8 - hits)[:, None] * np.log1p(-chance)
        reads = GridReads.from_loglik(loglik[:, None], np.ones((16, 1), bool))
        loc, spread, _ = draw_grid_block(reads, rng, np.array([0]), 200)
        mean = pop.mean(np.column_stack([loc[:, 0], spread[:, 0]]))[:, 0]
        low, high = np.quantile(mean, [0.05, 0.95])
        truth = pop.mean(psi[None])[0, 0]
        inside.append(low - 1e-9 <= truth <= high + 1e-9)
    assert 0.84 <= np.mean(inside) <= 0.96


def test_a_source_file_counts_as_one_loop():
    """A file holding the same loop three times says what the loop says once; loops of
    different files add up."""
    loglik = -0.5 * ((GRID[None] - np.array([0.3, 0.3, 0.3, 0.7])[:, None]) / 0.05) ** 2
    files = np.array(["a", "a", "a", "b"])
    np.testing.assert_allclose(
        grid_log_posterior(loglik, clusters=files), grid_log_posterior(loglik[2:])
    )
    independent = grid_log_posterior(loglik)  # each loop its own file: 0.3 weighs three
    assert not np.allclose(independent, grid_log_posterior(loglik[2:]))


def test_a_pack_in_a_dead_zone_keeps_the_bound_and_the_zone_possible():
    velocity = simulate(np.tile(theta_to_array(default_theta()), (60, 1)), seed=1).velocity
    velocity[:, 4] = 0  # no cymbal at all: ride and crash in their dead zone
    reads = read_onsets(velocity)
    loc, spread, drawn = draw_block(reads, 400, np.random.default_rng(2), knobs=ONSET_KNOBS)
    j = ONSET_KNOBS.index("ride")
    assert drawn[j]
    acting = ramp(np.clip(loc[:, j] + 2 * spread[:, j], 0, 1))
    # nearly every draw plays (almost) no ride: the posterior leaves a few populations
    # whose rare loops play one, which 60 silent loops of a few decisions each allow
    assert (acting < 0.02).mean() > 0.85 and np.median(acting) == 0.0
    assert (loc[:, j] <= 0.0).any() and (loc[:, j] > 0.0).any()  # both sides of the bound


def test_the_onset_block_is_read_and_replaced_like_the_others():
    assert BLOCKS["onsets"] == ONSET_KNOBS
    assert "onsets" not in blocks_to_read(onsets="network")
    assert "onsets" in blocks_to_read()
    with pytest.raises(ValueError, match="onsets must be one of"):
        blocks_to_read(onsets="moments")
    pop = Population.from_registry()
    rng = np.random.default_rng(4)
    reads = read_onsets(simulate(sample_prior(20, rng), seed=5).velocity)
    hyper = pop.sample_hyper(30, rng)
    loops = pop.sample_loops(hyper, 20, rng).reshape(30, 20, -1)
    new_hyper, new_loops = replace_block(hyper, loops, reads, pop, rng, knobs=ONSET_KNOBS)
    k = pop.n_knobs
    other = np.setdiff1d(np.arange(k), COLS)
    np.testing.assert_array_equal(new_loops[..., other], loops[..., other])
    np.testing.assert_array_equal(new_hyper[:, other], hyper[:, other])
    assert ((new_loops[..., COLS] >= 0) & (new_loops[..., COLS] <= 1)).all()
    assert not np.allclose(new_hyper[:, COLS], hyper[:, COLS])


def test_a_loop_at_a_dead_zone_reads_the_bound_itself():
    """Every backbeat, no ride: the likelihood is flat over the dead zone at 1 and at 0, so
    new loops pooled with these reads must play every backbeat and no ride, as the loop does
    (read at the zone's middle, they dropped a hit now and then)."""
    reads = read_onsets(_clip(snare=[4, 12], closed=[0, 2, 4, 6, 8, 10, 12, 14]))
    backbeat, ride = ONSET_KNOBS.index("backbeat"), ONSET_KNOBS.index("ride")
    assert reads.estimate[0, backbeat] == 1.0
    assert reads.estimate[0, ride] == 0.0
    assert reads.se[0, backbeat] > 0.05  # two decisions' worth (one bar, repeated): not exact
    assert reads.shown[0, [backbeat, ride]].all()
