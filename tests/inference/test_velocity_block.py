"""Per-loop velocity reads from the hits: the rule's candidates, EM, what a loop shows."""

from __future__ import annotations

import numpy as np
import pytest
from velocity_helpers import COLS, prior_theta, unclipped

from technorhythm.clips import N_STEPS, STEPS_PER_BAR
from technorhythm.inference.hit_blocks import draw_block
from technorhythm.inference.velocity_block import (
    ROW_GROUP,
    VELOCITY_KNOBS,
    read_loops,
    weakness_candidates,
)
from technorhythm.simulator import simulate
from technorhythm.simulator.knobs import KNOB_NAMES
from technorhythm.simulator.patterns import DYNAMICS_OF_ROW


def _one_theta(seed: int, n: int, **settings: float) -> np.ndarray:
    """``n`` copies of one unclipped prior θ (``seed``) with ``settings`` applied."""
    theta = np.tile(unclipped(prior_theta(1, np.random.default_rng(seed))), (n, 1))
    for knob, value in settings.items():
        theta[:, KNOB_NAMES.index(knob)] = value
    return theta


def test_every_simulated_hit_is_one_of_its_candidates():
    rng = np.random.default_rng(0)
    theta = prior_theta(3000, rng)
    theta[:, COLS[7:]] = 0.0  # no jitter: velocities are the rule's exactly
    clips = simulate(theta, seed=1)
    w0, w1, _ = (np.tile(a, (1, N_STEPS // STEPS_PER_BAR)) for a in weakness_candidates())
    level = theta[:, COLS[:4]][:, ROW_GROUP][:, :, None]  # (N, 5, 1)
    accent = theta[:, COLS[4:7]][:, DYNAMICS_OF_ROW][:, :, None]  # (N, 5, 1)

    def rule(w):
        return np.clip(np.rint(level * (1 - accent * w)), 1, 127)

    v = clips.velocity.astype(float)
    hit = v > 0
    assert hit.sum() > 100_000
    ok = (v == rule(w0)) | (v == rule(w1))
    assert ok[hit].all(), f"{int((~ok & hit).sum())} hits match no candidate"


def test_only_kicks_on_the_8th_notes_are_ambiguous():
    w0, w1, p1 = weakness_candidates()
    ambiguous = w0 != w1
    assert (p1[ambiguous] > 0).all() and (p1[~ambiguous] == 0).all()
    expected = np.zeros_like(ambiguous)
    expected[0, ::2] = True
    np.testing.assert_array_equal(ambiguous, expected)


def test_exact_loops_are_read_exactly():
    rng = np.random.default_rng(1)
    theta = unclipped(prior_theta(500, rng))
    theta[:, COLS[7:]] = 0.0
    reads = read_loops(simulate(theta, seed=2).velocity)
    truth = theta[:, COLS]
    for j in range(4):  # levels: within rounding wherever the loop shows them
        s = reads.shown[:, j]
        assert s.mean() > 0.7  # a snare of ghosts alone shows no level (25 % of the prior)
        err = np.abs(reads.estimate[s, j] - truth[s, j])
        assert np.median(err) < 0.3, VELOCITY_KNOBS[j]
    for j in range(4, 7):  # accents
        s = reads.shown[:, j]
        assert np.median(np.abs(reads.estimate[s, j] - truth[s, j])) < 0.005, VELOCITY_KNOBS[j]
    for j in range(7, 10):  # each instrument's jitter: none
        assert np.median(reads.estimate[reads.shown[:, j], j]) < 0.3, VELOCITY_KNOBS[j]


def test_noisy_loops_are_read_within_their_standard_errors():
    rng = np.random.default_rng(3)
    theta = unclipped(prior_theta(1500, rng))
    theta[:, COLS[7:]] = 2 + rng.random((len(theta), 3)) * 6  # jitters 2–8
    reads = read_loops(simulate(theta, seed=4).velocity)
    truth = theta[:, COLS]
    for j, name in enumerate(VELOCITY_KNOBS):
        s = reads.shown[:, j]
        z = (reads.estimate[s, j] - truth[s, j]) / reads.se[s, j]
        # most loops within 2 standard errors; the ambiguous kicks make a few misreads
        assert np.mean(np.abs(z) < 2) > 0.7, name
        assert abs(np.median(z)) < 0.35, name


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="velocity must be"):
        read_loops(np.zeros((3, 4, 64)))


def _preset_pack(name: str, n: int, seed: int):
    from technorhythm.simulator.preset_io import load_preset

    preset = load_preset(name)
    theta = np.array([preset[k] for k in KNOB_NAMES])
    return theta, simulate(np.tile(theta, (n, 1)), seed=seed)


def test_velocities_clipped_at_127_are_read_as_censored():
    theta, clips = _preset_pack("peak-time", 64, 100)  # kick 126.97, jitter 4
    assert (clips.velocity[:, 0] == 127).mean() > 0.05
    reads = read_loops(clips.velocity)
    loc, spread, _ = draw_block(reads, 400, np.random.default_rng(4))
    # ignoring the clipping reads the kick 1.5 units low and the jitter 0.3 low; a pack so
    # near 127 may read as one partly on the bound (a location beyond it): the kick level
    # its new loops play, the censored normal's mean, is what must be right
    z = np.random.default_rng(5).standard_normal((len(loc), 200))
    played = np.clip(loc[:, 1:2] + spread[:, 1:2] * z, 10.0, 127.0).mean(axis=1)
    assert abs(np.median(played) - theta[COLS[1]]) < 0.4
    for j, tol in zip(range(7, 10), (0.15, 0.3, 0.15), strict=True):  # half the kicks at 127
        assert abs(np.median(loc[:, j]) - theta[COLS[j]]) < tol, VELOCITY_KNOBS[j]


def test_a_loop_whose_every_hit_plays_127_reads_its_levels_and_no_jitter():
    # the sequencer's default velocity: every hit 127, no accent, no jitter. With the
    # residuals over the degrees of freedom, a group with more hits at 127 than degrees of
    # freedom grew its variance every EM step: snare jitters read 121–92 287 (standard
    # errors to 10⁴), and the pack's snare jitter came out 30, the top of its range. Such
    # hits say the level, not the noise: the jitter is not read from them
    levels = {k: 127.0 for k in VELOCITY_KNOBS[:4]}
    flat = {k: 0.0 for k in VELOCITY_KNOBS[4:]}
    clips = simulate(_one_theta(3, 64, **levels, **flat), seed=5)
    assert np.all(clips.velocity[clips.velocity > 0] == 127)
    reads = read_loops(clips.velocity)
    assert not reads.shown[:, 7:].any()  # the jitters
    for j in range(7):
        shown = reads.shown[:, j]
        e, se = reads.estimate[shown, j], reads.se[shown, j]
        assert np.all(np.abs(e - (127.0 if j < 4 else 0.0)) < 0.01), VELOCITY_KNOBS[j]
        assert np.all(se < 0.5), VELOCITY_KNOBS[j]
    assert reads.shown[:, :4].any(axis=0).all()  # every level shown somewhere


def test_the_jitter_is_read_without_the_fits_degrees_of_freedom():
    theta, clips = _preset_pack("default", 64, 101)  # jitter 3
    loc, _, _ = draw_block(read_loops(clips.velocity), 400, np.random.default_rng(5))
    for j in range(7, 10):  # ML's n divisor: 2.78
        assert abs(np.median(loc[:, j]) - theta[COLS[j]]) < 0.12, VELOCITY_KNOBS[j]


def test_without_unaccented_hits_the_accent_is_not_shown():
    theta = _one_theta(19, 8, kick_pulses=4.0, kick_extra=0.0, snare_ghosts=0.0, hat_16ths=0.0,
                       open_hat=0.0, open_hat_other=0.0, ride=0.0, snare_accent=0.6,
                       kick_accent=0.6, hat_accent=0.6, snare_jitter=0.0, kick_jitter=0.0,
                       hat_jitter=0.0)  # fmt: skip
    reads = read_loops(simulate(theta, seed=20).velocity)
    assert not reads.shown[:, 4:7].any()  # every hit as loud as the next: no contrast heard
    assert reads.shown[:, 1].all()


def test_a_loops_read_does_not_depend_on_the_loops_read_with_it():
    theta = unclipped(prior_theta(40, np.random.default_rng(25)))
    velocity = simulate(theta, seed=26).velocity
    together = read_loops(velocity)
    alone = read_loops(velocity[7:8])
    np.testing.assert_array_equal(together.estimate[7:8], alone.estimate)
    np.testing.assert_array_equal(together.se[7:8], alone.se)


def test_each_instrument_is_read_with_its_own_accent_and_jitter():
    theta = _one_theta(30, 400, kick_pulses=2.0, kick_extra=0.3, backbeat=1.0, snare_ghosts=0.5,
                       hat_beats=1.0, hat_offbeats=1.0, hat_16ths=0.5, snare_accent=0.8,
                       kick_accent=0.5, hat_accent=0.3, snare_jitter=0.0, kick_jitter=4.0,
                       hat_jitter=9.0)  # fmt: skip
    reads = read_loops(simulate(theta, seed=31).velocity)
    loc, _, _ = draw_block(reads, 400, np.random.default_rng(6))
    truth = theta[0, COLS]
    np.testing.assert_allclose(np.median(loc[:, 4:7], axis=0), truth[4:7], atol=0.01)
    np.testing.assert_allclose(np.median(loc[:, 7:], axis=0), truth[7:], atol=0.3)


def test_a_snare_of_ghosts_alone_reads_no_accent_and_no_misfit_as_jitter():
    # every snare off the backbeat, near the loudest velocity: its accent and level trade
    # off exactly, and a level capped at 127 must not force a misfit into the jitter
    velocity = np.zeros((1, 5, N_STEPS), dtype=np.uint8)
    velocity[0, 0, ::16] = 110  # a kick on every downbeat
    velocity[0, 2, ::2] = 80  # closed hats on the 8ths
    velocity[0, 1, [7, 8, 23, 24, 39, 40, 55, 56]] = [124, 120, 127, 122, 124, 121, 126, 123]
    reads = read_loops(velocity)
    assert not reads.shown[0, 0] and not reads.shown[0, 4]  # snare level and accent unread
    assert reads.shown[0, 7] and reads.estimate[0, 7] < 4.0  # sd of the eight: 2.4


def test_a_kick_without_extras_shows_no_accent_from_its_noise():
    # minimal: no extra kicks, every kick 102 ± 2; a free mixture would split that noise
    # into two levels 0.03-0.06 apart and read the pack's kick accent as 0.04 (preset 0.3)
    _, clips = _preset_pack("minimal", 64, 100)
    assert not read_loops(clips.velocity).shown[:, 5].any()
    theta, clips = _preset_pack("default", 64, 100)  # a few loops with real extra kicks
    reads = read_loops(clips.velocity)
    assert reads.shown[:, 5].sum() >= 3
    loc, _, _ = draw_block(reads, 400, np.random.default_rng(7))
    assert abs(np.median(loc[:, 5]) - theta[COLS[5]]) < 0.03


def test_a_kick_without_extras_reads_its_level_and_jitter_unsplit():
    # every kick a base pulse at 100 ± 10: the mixture alone calls the softer half of the
    # noise "extra kicks" and read the level one standard error too loud (median z 1.07),
    # the jitter 8.2 and the level's scatter 2.6 times its standard error
    theta = _one_theta(11, 600, kick_extra=0.0, kick_velocity=100.0, kick_jitter=10.0)
    reads = read_loops(simulate(theta, seed=12).velocity)
    level, jitter = VELOCITY_KNOBS.index("kick_velocity"), VELOCITY_KNOBS.index("kick_jitter")
    z = (reads.estimate[:, level] - 100.0) / reads.se[:, level]
    assert abs(np.median(z)) < 0.2
    assert 0.8 < np.median(np.abs(z)) / 0.6745 < 1.25
    assert abs(np.median(reads.estimate[:, jitter]) - 10.0) < 0.5


def test_kick_standard_errors_count_the_unknown_layers():
    # kicks with extras on the 8th notes, whose layer the hits leave uncertain: with the
    # complete-data information (every layer known) the level's and the accent's median |z|
    # here were 1.68 and 1.39 times the normal's (now 1.32 and 1.16: a loop whose extras
    # lie 1-4 noise sds below its base pulses and do not show is read as all base pulses)
    rng = np.random.default_rng(21)
    theta = unclipped(prior_theta(2000, rng))
    theta[:, KNOB_NAMES.index("kick_jitter")] = 4 + rng.random(len(theta)) * 20
    theta[:, KNOB_NAMES.index("kick_extra")] = 0.2 + rng.random(len(theta)) * 0.6
    reads = read_loops(simulate(theta, seed=22).velocity)
    for name in ("kick_velocity", "kick_accent"):
        j = VELOCITY_KNOBS.index(name)
        truth = theta[:, KNOB_NAMES.index(name)]
        s = reads.shown[:, j] & (truth > 0.05 * truth.max())
        z = (reads.estimate[s, j] - truth[s]) / reads.se[s, j]
        assert s.sum() > 1000, name
        limit = 1.45 if name == "kick_velocity" else 1.25
        assert np.median(np.abs(z)) / 0.6745 < limit, name
        assert abs(np.median(z)) < 0.15, name


def _kick_pack(seed: int, n: int = 64, **settings: float):
    from technorhythm.simulator.knobs import default_theta, theta_to_array

    theta = np.tile(theta_to_array(default_theta()), (n, 1))
    for knob, value in {"variation": 0.0, "kick_jitter": 3.0, **settings}.items():
        theta[:, KNOB_NAMES.index(knob)] = value
    return simulate(theta, seed=seed)


def test_a_pack_without_a_base_hides_its_kick_level_given_the_kick_block():
    from technorhythm.inference.hit_blocks import pack_view, read_block

    clips = _kick_pack(50, kick_pulses=0.0, kick_extra=0.6, kick_velocity=120.0,
                       kick_accent=0.5)  # fmt: skip
    level = VELOCITY_KNOBS.index("kick_velocity")
    alone = read_loops(clips.velocity)
    # each loop alone reads its kicks (all extra kicks at 60) as base pulses at 60
    assert np.median(alone.estimate[alone.shown[:, level], level]) < 70
    view = pack_view(read_block("velocity", clips, per_loop=False))
    # the kick block says no kick is a base pulse: only 120 × (1 − 0.5) is shown
    assert not view.shown[:, level].any()
    assert not view.shown[:, VELOCITY_KNOBS.index("kick_accent")].any()
    assert view.shown[:, VELOCITY_KNOBS.index("kick_jitter")].mean() > 0.75  # two kicks or more
    others = [VELOCITY_KNOBS.index(k) for k in ("snare_velocity", "hat_velocity", "hat_jitter")]
    np.testing.assert_array_equal(view.estimate[:, others], alone.estimate[:, others])


def test_extra_kicks_on_the_ands_read_the_accent_given_the_kick_block():
    from technorhythm.inference.hit_blocks import pack_view, read_block

    clips = _kick_pack(51, kick_pulses=4.0, kick_extra=0.5, kick_late=0.0,
                       kick_velocity=110.0, kick_accent=0.3)  # fmt: skip
    view = pack_view(read_block("velocity", clips, per_loop=False))
    level, accent = VELOCITY_KNOBS.index("kick_velocity"), VELOCITY_KNOBS.index("kick_accent")
    assert view.shown[:, level].all()
    assert abs(np.median(view.estimate[:, level]) - 110.0) < 1.5
    shows = view.shown[:, accent]
    assert shows.mean() > 0.5
    assert abs(np.median(view.estimate[shows, accent]) - 0.3) < 0.03


def test_the_kicks_layers_must_be_given_for_every_step():
    from technorhythm.inference.velocity_block import read_kicks_given_layers

    clips = _kick_pack(52, n=4)
    with pytest.raises(ValueError, match=r"base_chance must be \(4, 64\)"):
        read_kicks_given_layers(clips.velocity, np.ones((4, 16)))
