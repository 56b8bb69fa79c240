"""A pack's velocity block from its loops' reads: bootstrap, censored fit, replacement."""

from __future__ import annotations

import numpy as np
import pytest
from velocity_helpers import COLS, prior_theta, unclipped

from technorhythm.inference.hit_blocks import (
    bootstrap_weights,
    draw_block,
    replace_block,
)
from technorhythm.inference.population import Population
from technorhythm.inference.velocity_block import read_loops
from technorhythm.simulator import simulate
from technorhythm.simulator.knobs import KNOB_NAMES


def test_a_preset_pack_gets_no_spread_and_its_own_levels():
    theta = np.tile(unclipped(prior_theta(1, np.random.default_rng(5))), (24, 1))
    theta[:, COLS[:4]] = [100.0, 120.0, 90.0, 70.0]
    theta[:, COLS[4:7]] = 0.4
    theta[:, COLS[7:]] = 0.0
    reads = read_loops(simulate(theta, seed=6).velocity)
    loc, spread, drawn = draw_block(reads, 500, np.random.default_rng(0))
    assert drawn[:2].all()  # the snare and the kick play in every loop
    for j in np.flatnonzero(drawn[:4]):
        assert abs(np.mean(loc[:, j]) - theta[0, COLS[j]]) < 1.0
        assert np.std(loc[:, j]) < 1.0
        assert np.quantile(spread[:, j], 0.94) < 1.0


def test_a_varied_pack_gets_its_spread():
    rng = np.random.default_rng(7)
    theta = unclipped(prior_theta(200, rng))
    theta[:, COLS[1]] = 80 + 10 * rng.standard_normal(len(theta))  # kick level: sd 10
    theta[:, COLS[7:]] = 3.0
    reads = read_loops(simulate(theta, seed=8).velocity)
    loc, spread, drawn = draw_block(reads, 1000, np.random.default_rng(1))
    assert drawn[1]
    kicks = theta[:, COLS[1]]  # the pack's own levels: mean and sd of these 200 loops
    # loops without base pulses read their extra kicks as the level: a few misreads widen it
    assert abs(np.median(spread[:, 1]) / kicks.std() - 1) < 0.15
    lo, hi = np.quantile(loc[:, 1], [0.01, 0.99])
    assert lo < kicks.mean() < hi


def test_replace_block_changes_only_the_velocity_columns():
    pop = Population.from_registry()
    rng = np.random.default_rng(9)
    theta = unclipped(prior_theta(12, rng))
    reads = read_loops(simulate(theta, seed=10).velocity)
    hyper = pop.sample_hyper(50, rng)
    loops = pop.sample_loops(hyper, 12, rng).reshape(50, 12, -1)
    new_hyper, new_loops = replace_block(hyper, loops, reads, pop, np.random.default_rng(0))
    k = pop.n_knobs
    cols = np.array(COLS)
    other = np.setdiff1d(np.arange(2 * k), np.concatenate([cols, k + cols]))
    np.testing.assert_array_equal(new_hyper[:, other], hyper[:, other])
    assert not np.allclose(new_hyper[:, cols], hyper[:, cols])
    keep = np.setdiff1d(np.arange(k), cols)
    np.testing.assert_array_equal(new_loops[..., keep], loops[..., keep])
    b = pop.bounds[cols]
    assert ((new_loops[..., cols] >= b[:, 0]) & (new_loops[..., cols] <= b[:, 1])).all()
    with pytest.raises(ValueError, match="loops must be"):
        replace_block(hyper, loops[:, :5], reads, pop, np.random.default_rng(0))


def test_a_knob_no_loop_shows_keeps_the_networks_draws():
    pop = Population.from_registry()
    theta = unclipped(prior_theta(6, np.random.default_rng(11)))
    clips = simulate(theta, seed=12)
    velocity = clips.velocity.copy()
    velocity[:, 3] = 0  # no open hats anywhere
    reads = read_loops(velocity)
    assert not reads.shown[:, 3].any()
    hyper = pop.sample_hyper(40, np.random.default_rng(13))
    new_hyper, _ = replace_block(hyper, None, reads, pop, np.random.default_rng(0))
    j = COLS[3]
    np.testing.assert_array_equal(
        new_hyper[:, [j, pop.n_knobs + j]], hyper[:, [j, pop.n_knobs + j]]
    )


def test_a_mixed_pack_is_read_at_its_main_mode():
    theta = np.tile(unclipped(prior_theta(1, np.random.default_rng(14))), (24, 1))
    theta[:, COLS[:4]] = [120.0, 120.0, 90.0, 90.0]
    theta[18:, COLS[0]] = 90.0  # 6 of 24 loops play the snare at 90
    theta[:, COLS[4:7]] = 0.4
    theta[:, COLS[7:]] = 0.0
    theta[:, KNOB_NAMES.index("backbeat")] = 1.0
    reads = read_loops(simulate(theta, seed=15).velocity)
    loc, spread, _ = draw_block(reads, 1000, np.random.default_rng(2))
    assert abs(np.median(loc[:, 0]) - 120) < 1.0
    assert np.median(spread[:, 0]) < 2.0
    # the minority moves the centre only when the bootstrap gives it half the weight
    assert np.mean(np.abs(loc[:, 0] - 120) > 1) < 0.01


def test_the_bootstrap_unit_is_the_source_file():
    rng = np.random.default_rng(16)
    g = bootstrap_weights(np.array(["a", "a", "a", "b"]), 4, 2000, rng)
    np.testing.assert_allclose(g.sum(axis=1), 1.0)
    np.testing.assert_allclose(g[:, 0], g[:, 1])  # one file's loops share its weight
    assert abs(np.mean(g[:, 3]) - 0.5) < 0.03  # each file half the weight on average
    np.testing.assert_allclose(bootstrap_weights(np.array(["a"] * 3), 3, 5, rng).sum(1), 1.0)


def test_loops_of_few_files_leave_the_location_uncertain():
    # 12 loops from each of 3 files; each file plays its snare at its own level
    theta = np.tile(unclipped(prior_theta(1, np.random.default_rng(17))), (36, 1))
    theta[:, COLS[0]] = np.repeat([100.0, 110.0, 120.0], 12)
    theta[:, COLS[7:]] = 0.0
    theta[:, KNOB_NAMES.index("backbeat")] = 1.0
    reads = read_loops(simulate(theta, seed=18).velocity)
    files = np.repeat(["a.mid", "b.mid", "c.mid"], 12)
    by_file, _, _ = draw_block(reads, 2000, np.random.default_rng(3), clusters=files)
    by_loop, _, _ = draw_block(reads, 2000, np.random.default_rng(3))
    # three files are three draws of the population: the median may be any of them
    assert np.std(by_file[:, 0]) > 1.5 * np.std(by_loop[:, 0])
    assert np.mean(np.abs(by_file[:, 0] - 110) > 5) > 0.2


def test_one_or_two_files_leave_the_location_as_uncertain_as_the_loops_spread():
    # 24 loops of one performance: the snare varies loop to loop (sd 8) around 100
    rng = np.random.default_rng(19)
    theta = np.tile(unclipped(prior_theta(1, np.random.default_rng(18))), (24, 1))
    theta[:, COLS[0]] = 100 + 8 * rng.standard_normal(24)
    theta[:, COLS[7:]] = 0.0
    theta[:, KNOB_NAMES.index("backbeat")] = 1.0
    reads = read_loops(simulate(theta, seed=20).velocity)
    args = (reads, 4000)
    one, spread, _ = draw_block(*args, np.random.default_rng(4), clusters=np.array(["a"] * 24))
    two, _, _ = draw_block(*args, np.random.default_rng(4), clusters=np.repeat(["a", "b"], 12))
    loops, _, _ = draw_block(*args, np.random.default_rng(4))
    width = np.median(spread[:, 0])
    assert 6 < width < 11
    # one file: the location is uncertain by the loops' spread; two files: by spread / √2
    assert np.std(one[:, 0]) == pytest.approx(width, rel=0.1)
    assert np.std(two[:, 0]) == pytest.approx(width / np.sqrt(2), rel=0.15)
    # without files named, the loops are the units (the bootstrap's spread / √24)
    assert np.std(loops[:, 0]) < 0.4 * width
    assert abs(np.mean(one[:, 0]) - np.mean(loops[:, 0])) < 0.6  # centred where it was


def test_fewer_than_three_loops_leave_the_block_to_the_network():
    pop = Population.from_registry()
    theta = unclipped(prior_theta(2, np.random.default_rng(21)))
    reads = read_loops(simulate(theta, seed=22).velocity)
    hyper = pop.sample_hyper(30, np.random.default_rng(23))
    loops = pop.sample_loops(hyper, 2, np.random.default_rng(24)).reshape(30, 2, -1)
    new_hyper, new_loops = replace_block(hyper, loops, reads, pop, np.random.default_rng(0))
    np.testing.assert_array_equal(new_hyper, hyper)
    np.testing.assert_array_equal(new_loops, loops)


def test_new_loops_of_a_pack_at_a_bound_stay_at_the_bound():
    """Every loop of the pack pushes at −30 ms (the knob's bound) with 40 ms of humanize: each
    loop's read scatters ±8 ms around −30, and clipped at the bound the raw reads average
    about −26; new loops pool each read with the pack's population within its error and
    stay near the bound (about −28.5: a population this noisy a pack reads may reach a few
    ms inside the range)."""
    from technorhythm.inference.hit_blocks import pack_reads, read_block
    from technorhythm.inference.timing_block import TIMING_KNOBS
    from technorhythm.posteriors import PopulationPredictive
    from technorhythm.simulator.knobs import default_theta

    pop = Population.from_registry()
    theta = np.tile([default_theta()[k] for k in KNOB_NAMES], (256, 1))
    cols = [KNOB_NAMES.index(k) for k in TIMING_KNOBS]
    theta[:, cols] = [0.0, 40.0, -30.0, -30.0]
    theta[:, KNOB_NAMES.index("hat_16ths")] = 0.5
    reads = read_block("timing", simulate(theta, seed=1))
    hyper = pop.sample_hyper(200, np.random.default_rng(0))
    hyper, _ = replace_block(hyper, None, reads, pop, np.random.default_rng(1), knobs=TIMING_KNOBS)
    push = KNOB_NAMES.index("push_ms")
    values, se = pack_reads(reads, pop, TIMING_KNOBS)
    assert np.clip(values[:, push], -30, 30).mean() > -28.0  # the raw reads, clipped
    new = PopulationPredictive(hyper, pop, values, se).draw(20, 256, np.random.default_rng(2))
    assert new[:, push].mean() < -28.0


def test_a_packs_velocity_view_takes_its_base_pulses_from_the_packs_kick_view():
    from technorhythm.inference.hit_blocks import (
        VelocityHits,
        pack_view,
        pack_views,
        read_block,
        read_blocks,
    )
    from technorhythm.inference.kick_block import KickBars, KickPack

    theta = prior_theta(48, np.random.default_rng(30))
    clips = simulate(theta, seed=31)
    reads = read_blocks(("velocity", "kick"), clips)
    assert isinstance(reads["kick"], KickBars)
    assert reads["velocity"].bars is reads["kick"]  # decoded once, shared
    rows = np.arange(8, 40)
    views = pack_views({b: r[rows] for b, r in reads.items()})
    assert list(views) == ["velocity", "kick"] and isinstance(views["kick"], KickPack)
    alone = pack_view(read_block("velocity", clips[rows], per_loop=False))
    assert isinstance(read_block("velocity", clips, per_loop=False), VelocityHits)
    np.testing.assert_array_equal(views["velocity"].shown, alone.shown)
    np.testing.assert_allclose(views["velocity"].estimate, alone.estimate)
    np.testing.assert_allclose(views["velocity"].se, alone.se)
