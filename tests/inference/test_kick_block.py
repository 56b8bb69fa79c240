"""The kick block: each fresh bar's base and extra kicks, likelihoods on a joint grid."""

from __future__ import annotations

import numpy as np
import pytest

from technorhythm.inference.grid_pool import GRID
from technorhythm.inference.hit_blocks import BLOCKS, blocks_to_read, draw_block, replace_block
from technorhythm.inference.kick_block import (
    EXTRA_GRID,
    KICK_KNOBS,
    PULSES_GRID,
    KickReads,
    kick_loglik,
    own_weights,
    read_kicks,
)
from technorhythm.inference.population import Population
from technorhythm.simulator import simulate
from technorhythm.simulator.knobs import KNOB_NAMES, default_theta, theta_to_array
from technorhythm.simulator.patterns import acting_pulses
from technorhythm.simulator.preset_io import load_preset

PULSES, EXTRA, LATE = range(3)


def _kick(*bars) -> np.ndarray:
    """One clip (1, 5, 64) with kicks (velocity 100) on the given steps of each bar (one
    list of steps: every bar the same) and nothing else."""
    v = np.zeros((1, 5, 64), np.uint8)
    bars = bars * 4 if len(bars) == 1 else bars
    for b, steps in enumerate(bars):
        v[0, 0, [16 * b + s for s in steps]] = 100
    return v


def test_four_on_the_floor_is_most_likely_four_pulses_and_no_extras():
    joint = kick_loglik(_kick([0, 4, 8, 12]))[0]  # (X, E, L)
    x, e, _ = np.unravel_index(np.argmax(joint), joint.shape)
    assert PULSES_GRID[x] == 4.0 and EXTRA_GRID[e] == 0.0
    reads = read_kicks(_kick([0, 4, 8, 12]))
    assert reads.shown[0, PULSES] and reads.shown[0, EXTRA]
    # no pair played: next to nothing about where one would sound (only through bases of
    # more pulses with one left out, whose 'and' pairs could have sounded late)
    assert np.ptp(reads.loglik[0, LATE]) < 0.2


def test_an_extra_kick_on_the_a_reads_late():
    late = read_kicks(_kick([0, 3, 4, 8, 12]))  # beat 1's pair sounds on its 'a'
    early = read_kicks(_kick([0, 2, 4, 8, 12]))  # … on its 'and'
    assert late.shown[0, LATE] and early.shown[0, LATE]
    assert late.estimate[0, LATE] == 1.0 and early.estimate[0, LATE] == 0.0
    assert late.estimate[0, EXTRA] > 0.1


def test_only_fresh_bars_count():
    """Four equal bars are one bar of decisions; four different ones are four."""
    same = kick_loglik(_kick([0, 4, 8, 10, 12]))
    one = kick_loglik(_kick([0, 4, 8, 10, 12], [0, 4, 8, 12], [0, 4, 8, 12], [0, 4, 8, 12]))
    np.testing.assert_allclose(
        same, kick_loglik(_kick([0, 4, 8, 10, 12], *[[0, 4, 8, 10, 12]] * 3))
    )
    assert not np.allclose(same, one)  # bars 2–4 differ from bar 1: drawn afresh, counted


def test_a_bar_the_rules_cannot_make_is_floored_not_fatal():
    reads = read_kicks(_kick([0, 4, 8, 10, 11, 12]))  # 'and' and 'a' of beat 3, off the base
    assert np.isfinite(reads.loglik).all() and np.isfinite(reads.estimate).all()


@pytest.mark.parametrize("preset", ["minimal", "peak-time", "broken-electro", "live-kit"])
def test_a_preset_pack_is_read_at_its_values(preset):
    theta = theta_to_array({**default_theta(), **load_preset(preset)})
    reads = read_kicks(simulate(np.tile(theta, (300, 1)), seed=3).velocity).bars.conditioned()
    total = reads.loglik.sum(axis=0)  # (J, X): the pack's likelihood, one θ
    for j, name in enumerate(KICK_KNOBS):
        truth = theta[KNOB_NAMES.index(name)]
        values = GRID * (8.0 if name == "kick_pulses" else 1.0)
        best = values[total[j] >= total[j].max() - 1e-6]
        if name == "kick_pulses":  # any value acting as the same pulse count plays alike
            assert np.min(np.abs(acting_pulses(best) - acting_pulses(truth))) < 0.1, name
        elif name == "kick_late" and theta[KNOB_NAMES.index("kick_extra")] < 0.05:
            continue  # a pair or two in 300 loops: too few to place it
        else:  # within a step of the joint grid (0.05 for kick_extra, 0.1 for kick_late)
            step = 0.05 if name == "kick_extra" else 0.1
            assert np.min(np.abs(best - truth)) <= step + 1e-9, name


def test_the_kick_block_draws_in_knob_units():
    rng = np.random.default_rng(4)
    theta = theta_to_array({**default_theta(), **load_preset("broken-electro")})
    reads = read_kicks(simulate(np.tile(theta, (64, 1)), seed=5).velocity)
    assert reads.estimate[:, PULSES].max() > 1.0  # pulses in pulses, not a share of 8
    loc, spread, drawn = draw_block(reads, 200, rng, knobs=KICK_KNOBS)
    assert drawn.all()
    assert abs(np.median(loc[:, PULSES]) - 3.0) < 0.5
    assert abs(np.median(loc[:, EXTRA]) - 0.35) < 0.1
    pop = Population.from_registry()
    hyper = np.tile(np.r_[theta, np.zeros(len(theta))], (50, 1))
    loops = np.tile(theta, (50, 64, 1))
    hyper, loops = replace_block(hyper, loops, reads, pop, rng, knobs=KICK_KNOBS)
    cols = [KNOB_NAMES.index(k) for k in KICK_KNOBS]
    assert 2.0 < np.median(loops[..., cols[PULSES]]) < 4.0
    assert (loops[..., cols[PULSES]] <= 8.0).all() and (loops[..., cols[PULSES]] >= 0.0).all()


def test_a_pack_pools_each_knob_given_the_others_population():
    """A four-on-the-floor bar is also one pulse and a shared extra on beats 2–4; given
    the pack's extra kicks (none), every loop reads four pulses and no extras."""
    theta = theta_to_array({**default_theta(), **load_preset("minimal")})
    reads = read_kicks(simulate(np.tile(theta, (64, 1)), seed=9).velocity)
    assert isinstance(reads, KickReads) and isinstance(reads[:10], KickReads)
    pack = reads.bars.conditioned()
    assert np.median(pack.estimate[:, PULSES]) == pytest.approx(4.0, abs=0.3)
    assert np.median(pack.estimate[:, EXTRA]) == 0.0


def test_own_weights_are_the_chances_of_beats_deciding_alone():
    np.testing.assert_allclose(np.exp(own_weights(np.zeros(5))), [1, 0, 0, 0])
    np.testing.assert_allclose(np.exp(own_weights(np.ones(5))), [0, 0, 0, 1])
    half = np.exp(own_weights(np.full(3, np.sqrt(0.5))))  # each beat alone with chance 1/2
    np.testing.assert_allclose(half, [1 / 8] * 4)
    prior = np.exp(own_weights())  # per configuration, variation uniform: E[v²ⁿ (1 − v²)³⁻ⁿ]
    np.testing.assert_allclose(prior, [16 / 35, 8 / 105, 2 / 35, 1 / 7], rtol=1e-3)
    with pytest.raises(ValueError, match="at least one draw"):
        own_weights(np.zeros(0))


def test_a_pack_reads_its_base_given_how_often_its_beats_decide_alone():
    """Bars of six or seven base pulses and no extra kicks, every beat deciding alone: the
    seventh pulse (the 'and' of beat 2) is not an extra kick of a six-pulse base, which
    would need beat 2 to decide alone and play nothing on beat 1's 'and'. A read that leaves
    out what a beat deciding alone costs (or, as here, given the pack's variation, what it
    does not) took it for one: kick_extra 0.19 for 0.001."""
    over = {"kick_pulses": 6.49, "kick_extra": 0.001, "kick_late": 0.84, "variation": 1.0}
    theta = theta_to_array({**default_theta(), **over})
    reads = read_kicks(simulate(np.tile(theta, (256, 1)), seed=3).velocity)
    pop = Population.from_registry()
    hyper = np.r_[theta, np.zeros(len(theta))][None]  # the pack's variation: 1 in every loop
    loc, spread, drawn = draw_block(
        reads, 200, np.random.default_rng(0), knobs=KICK_KNOBS, hyper=hyper, population=pop
    )
    mean = Population(pop.bounds[[KNOB_NAMES.index(k) for k in KICK_KNOBS]], KICK_KNOBS).mean(
        np.concatenate([loc, spread], axis=1)
    )
    assert np.median(mean[:, EXTRA]) < 0.01
    assert abs(np.median(mean[:, PULSES]) - 6.49) < 0.2


def test_the_kick_block_is_read_and_replaced_like_the_others():
    assert BLOCKS["kick"] == KICK_KNOBS
    assert "kick" in blocks_to_read()  # read from the hits by default
    assert "kick" not in blocks_to_read(kicks="network")
    with pytest.raises(ValueError, match="kicks must be one of"):
        blocks_to_read(kicks="maybe")


def test_a_packs_likelihoods_come_from_the_corpus_bars_terms():
    """A slice of the corpus's reads keeps the corpus's bar terms (not a copy) and gives its
    loops the likelihoods that reading them alone gives, at any variation."""
    theta = theta_to_array({**default_theta(), "variation": 0.7, "kick_extra": 0.4})
    velocity = simulate(np.tile(theta, (60, 1)), seed=11).velocity
    reads = read_kicks(velocity)
    part = reads[20:45]
    assert part.bars.terms is reads.bars.terms
    for v in (0.0, 0.5, 1.0):
        log_own = own_weights(np.full(4, v))
        np.testing.assert_allclose(
            part.bars.loglik(log_own), kick_loglik(velocity[20:45], log_own), atol=1e-4
        )


def _pack(n: int, seed: int, **settings: float):
    """``n`` loops of the default θ with ``settings``, simulated with ``seed``."""
    theta = np.tile(theta_to_array(default_theta()), (n, 1))
    for knob, value in settings.items():
        theta[:, KNOB_NAMES.index(knob)] = value
    return simulate(theta, seed=seed)


def test_a_pack_without_a_base_reads_every_kick_an_extra_one():
    from technorhythm.inference.kick_block import KickBars

    clips = _pack(64, 40, kick_pulses=0.0, kick_extra=0.6, variation=0.0)
    chances = KickBars.from_velocity(clips.velocity).conditioned().base_chances()
    kicks = clips.velocity[:, 0] > 0
    assert kicks.sum() > 300
    assert chances[kicks].max() < 0.05


def test_four_on_the_floor_with_extras_reads_its_beats_base_and_its_ands_extra():
    from technorhythm.inference.kick_block import KickBars

    clips = _pack(64, 41, kick_pulses=4.0, kick_extra=0.5, kick_late=0.0, variation=0.0)
    chances = KickBars.from_velocity(clips.velocity).conditioned().base_chances()
    kicks = clips.velocity[:, 0] > 0
    pos = np.arange(64) % 16
    beats, ands = kicks & (pos % 4 == 0), kicks & (pos % 4 == 2)
    assert beats.sum() > 500 and ands.sum() > 100
    assert chances[beats].min() > 0.95
    assert chances[ands].max() < 0.05
    # a bar that repeats another plays its kicks and takes its chances
    loops_with_repeats = (chances[:, 16:32] == chances[:, :16]).all(axis=1)
    assert loops_with_repeats.any()


def test_a_bar_no_base_can_play_takes_the_populations_chances():
    from technorhythm.inference.kick_block import KickBars

    # beats 1-4 with the 'and' and the 'a' of beat 2 both: four-on-the-floor and its extras
    # cannot play it (only a base of 7 or 8 pulses with drops can)
    clips = _kick([0, 4, 6, 7, 8, 12])
    bars = KickBars.from_velocity(clips)
    four = np.zeros(len(PULSES_GRID))
    four[list(PULSES_GRID).index(4.0)] = 1.0
    flat = [np.full(len(EXTRA_GRID), 1 / len(EXTRA_GRID)), np.full(11, 1 / 11)]
    chances = bars.base_chances((four, *flat))
    np.testing.assert_allclose(chances[0, [0, 4, 8, 12]], 1.0)  # four-on-the-floor's pulses
    np.testing.assert_allclose(chances[0, [6, 7]], 0.0)
