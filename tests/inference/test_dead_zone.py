"""Knobs whose pack sits in their dead zone: the population drawn from flat likelihoods."""

from __future__ import annotations

import numpy as np
import pytest
from velocity_helpers import COLS, prior_theta, unclipped

from technorhythm.inference.dead_zone import MISREAD_SHARE, in_zone, zone_reads, zone_width
from technorhythm.inference.grid_pool import GRID
from technorhythm.inference.hit_blocks import draw_block, replace_block
from technorhythm.inference.loop_reads import LoopReads
from technorhythm.inference.population import Population
from technorhythm.inference.timing_block import TIMING_KNOBS, read_timing
from technorhythm.inference.velocity_block import VELOCITY_KNOBS, read_loops
from technorhythm.simulator import simulate
from technorhythm.simulator.knobs import KNOB_NAMES, KNOBS, default_theta

SNARE_JITTER = VELOCITY_KNOBS.index("snare_jitter")


def _default_pack(n: int, **settings: float) -> np.ndarray:
    """``n`` loops at the registry's defaults with ``settings`` (a value or (n,) values)."""
    theta = np.tile([default_theta()[k] for k in KNOB_NAMES], (n, 1))
    for knob, value in settings.items():
        theta[:, KNOB_NAMES.index(knob)] = value
    return theta


def _mean_interval(loc, spread, j: int, knob: str) -> tuple[float, float]:
    """The central 90 % interval of the loops' mean value E[θ] of ``knob`` (column ``j`` of
    the block's ``loc`` and ``spread`` draws)."""
    low, high = next((k.low, k.high) for k in KNOBS if k.name == knob)
    block = Population(np.array([[low, high]]), (knob,))
    mean = block.mean(np.column_stack([loc[:, j], spread[:, j]]))[:, 0]
    lo, hi = np.quantile(mean, [0.05, 0.95])
    return float(lo), float(hi)


def test_which_knobs_have_a_zone_the_grid_keeps():
    assert zone_width("snare_jitter") == 1.5
    assert zone_width("swing_16") == 0.012
    assert zone_width("push_ms") == 1.5  # its zone lies inside its range
    assert zone_width("backbeat") is None
    np.testing.assert_array_equal(in_zone(np.array([0.0, 0.7, 0.8, 2.0]), 1.5), [1, 1, 0, 0])
    np.testing.assert_array_equal(in_zone(np.array([-0.7, -0.8, -2.0]), 1.5), [1, 0, 0])


def test_a_read_in_the_zone_is_flat_over_it_and_one_above_peaks_at_its_value():
    reads = LoopReads(
        np.array([[0.05], [5.0], [9.0]]),
        np.array([[0.05], [0.5], [np.inf]]),
        np.array([[True], [True], [False]]),
    )
    grid = zone_reads(reads, 0, 1.5, 0.0, 30.0)
    values = GRID * 30.0
    zone_ll, peak_ll, hidden_ll = grid.loglik[:, 0]
    np.testing.assert_allclose(zone_ll[values < 1.5], zone_ll[0])  # any value in the zone
    # above it, only the misread share: about 9.6 nats less, not the normal's 420
    assert zone_ll[0] - 10 < zone_ll[values >= 1.5].max() < zone_ll[0] - 8
    np.testing.assert_allclose(zone_ll[values >= 1.5], np.log(MISREAD_SHARE / 30.0), rtol=1e-6)
    assert values[np.argmax(peak_ll)] == pytest.approx(5.1, abs=0.31)  # the grid's step 0.3
    np.testing.assert_array_equal(hidden_ll, 0.0)  # a loop that does not show the knob
    assert grid.shown[:, 0].tolist() == [True, True, False]


def _pack(jitter: float, n: int, seed: int) -> LoopReads:
    theta = unclipped(prior_theta(n, np.random.default_rng(seed)))
    theta[:, COLS[:4]] = 90.0
    theta[:, COLS[4:7]] = 0.3
    theta[:, COLS[7:]] = 4.0
    theta[:, COLS[SNARE_JITTER]] = jitter
    return read_loops(simulate(theta, seed=seed + 1).velocity)


def test_a_pack_inside_the_zone_is_read_anywhere_in_it():
    # 0.9 plays as 0: every loop reads about 0 ± 0.05; the bootstrap took that as the
    # location (0.06 ± 0.01, the truth far outside); the zone's likelihood leaves any
    # population that keeps the loops below 1.5 about as likely as the hyperprior makes it
    reads = _pack(0.9, 128, seed=3)
    shown = reads.shown[:, SNARE_JITTER]  # loops with two snare hits or more
    assert in_zone(reads.estimate[shown, SNARE_JITTER], 1.5).all()
    loc, spread, drawn = draw_block(reads, 400, np.random.default_rng(0))
    assert drawn[SNARE_JITTER]
    lo, hi = _mean_interval(loc, spread, SNARE_JITTER, "snare_jitter")
    assert lo < 0.9 < hi < 1.5  # inside the zone, and not beyond it


def test_a_pack_above_the_zone_keeps_the_bootstrap_and_its_resolution():
    reads = _pack(4.0, 128, seed=5)
    loc, _, _ = draw_block(reads, 400, np.random.default_rng(1))
    lo, hi = np.quantile(loc[:, SNARE_JITTER], [0.05, 0.95])
    assert lo < 4.0 < hi and hi - lo < 0.6  # finer than the grid's location step (0.75)


def test_loops_of_a_pack_in_the_zone_stay_in_it():
    pop = Population.from_registry()
    reads = _pack(0.0, 40, seed=7)
    rng = np.random.default_rng(2)
    hyper = pop.sample_hyper(60, rng)
    loops = pop.sample_loops(hyper, 40, rng).reshape(60, 40, -1)
    _, new = replace_block(hyper, loops, reads, pop, np.random.default_rng(3))
    jitter = new[..., pop.names.index("snare_jitter")]
    assert jitter.min() >= 0.0
    assert np.mean(jitter < 1.5) > 0.97  # the loops play without snare jitter, as the pack


def test_one_misread_does_not_push_a_resting_pack_out_of_its_rest():
    n = 256
    estimate = np.full((n, 1), 0.05)
    estimate[-1] = 1.02  # one loop misread: 24 standard errors from the zone's 0
    reads = LoopReads(estimate, np.full((n, 1), 0.043), np.ones((n, 1), dtype=bool))
    loc, spread, drawn = draw_block(reads, 400, np.random.default_rng(4), knobs=("kick_jitter",))
    assert drawn[0]
    # at rest in the zone (location within 0.75 of 0, spread below 0.25) for most draws,
    # not a broad population whose tail explains the one read
    rest = (np.abs(loc[:, 0]) < 1.2) & (spread[:, 0] < 0.6)
    assert rest.mean() > 0.7


def test_a_pack_piled_on_the_upper_bound_is_not_read_as_exactly_there():
    # swing ~ N(0.46, 0.04) clipped to 0.45: 60 % of the loops play 0.45 and read it
    # exactly; the robust fit put every draw's location on the bound with spread 0
    rng = np.random.default_rng(11)
    swing = np.clip(0.46 + 0.04 * rng.standard_normal(256), 0.0, 0.45)
    theta = _default_pack(256, swing_16=swing, humanize_ms=0.0)
    clips = simulate(theta, seed=12)
    reads = read_timing(clips.offset, clips.velocity, clips.bpm)
    j = TIMING_KNOBS.index("swing_16")
    loc, spread, drawn = draw_block(reads, 400, np.random.default_rng(5), knobs=TIMING_KNOBS)
    lo, hi = _mean_interval(loc, spread, j, "swing_16")
    assert lo < swing.mean() < hi


def test_a_push_zone_inside_the_range_is_kept_on_the_shifted_grid():
    reads = LoopReads(np.array([[0.0], [-9.0]]), np.array([[0.0], [0.4]]), np.ones((2, 1), bool))
    grid = zone_reads(reads, 0, 1.5, -30.0, 30.0)
    values = -30.0 + GRID * 60.0
    zone_ll, peak_ll = grid.loglik[:, 0]
    inside = np.abs(values) < 1.5
    np.testing.assert_allclose(zone_ll[inside], zone_ll[inside][0])  # flat over −1.5 … 1.5
    assert zone_ll[inside][0] - zone_ll[~inside].max() > 8  # nothing outside it
    assert values[np.argmax(peak_ll)] == pytest.approx(-9.0, abs=0.61)  # the grid's step
    assert grid.estimate[1, 0] == pytest.approx(-9.0, abs=0.61)  # knob units, not grid's


def test_a_pack_pushed_inside_the_zone_is_read_anywhere_in_it_not_exactly_0():
    # a push of 0.5 ms plays on the grid: without humanize every loop reads 0 ± 0, and the
    # bootstrap drew the location 0 with spread 0 every time (z = ∞ against 0.5); the
    # zone's likelihood leaves the hyperprior's packs at rest there (within 0.75 of 0)
    clips = simulate(_default_pack(128, push_ms=0.5, humanize_ms=0.0), seed=13)
    reads = read_timing(clips.offset, clips.velocity, clips.bpm)
    j = TIMING_KNOBS.index("push_ms")
    np.testing.assert_array_equal(reads.estimate[reads.shown[:, j], j], 0.0)
    loc, spread, drawn = draw_block(reads, 400, np.random.default_rng(6), knobs=TIMING_KNOBS)
    assert drawn[j]
    lo, hi = _mean_interval(loc, spread, j, "push_ms")
    assert -1.5 < lo < 0.5 < hi < 1.5


def test_a_level_piled_on_its_bound_is_not_read_as_exactly_there():
    # open-hat level ~ N(128, 4) clipped to 127, no jitter: about 60 % of the loops play 127
    # and read it exactly; the robust fit's tail arithmetic put the location on the bound
    # with spread 0 (E[θ] 127 ± 0 for a truth about a unit below)
    rng = np.random.default_rng(17)
    level = np.clip(128.0 + 4.0 * rng.standard_normal(256), 10.0, 127.0)
    theta = _default_pack(256, open_hat_velocity=level, hat_jitter=0.0, open_hat=1.0)
    reads = read_loops(simulate(theta, seed=18).velocity)
    j = VELOCITY_KNOBS.index("open_hat_velocity")
    assert np.mean(reads.estimate[reads.shown[:, j], j] == 127.0) > 0.5
    loc, spread, drawn = draw_block(reads, 400, np.random.default_rng(8))
    assert drawn[j]
    lo, hi = _mean_interval(loc, spread, j, "open_hat_velocity")
    assert lo < level.mean() < hi
