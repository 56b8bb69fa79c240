"""The timing knobs read from the hits' offsets: exact loops, noise, censoring, identifiability."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from technorhythm.clips import INSTRUMENTS, step_ms
from technorhythm.inference.hit_blocks import BLOCKS, read_block
from technorhythm.inference.timing_block import TIMING_KNOBS, read_timing
from technorhythm.simulator import simulate
from technorhythm.simulator.knobs import KNOB_NAMES, default_theta

THETA0 = np.array([default_theta()[k] for k in KNOB_NAMES])
COLS = [KNOB_NAMES.index(k) for k in TIMING_KNOBS]


def _packs(values, n: int = 200, bpm: float = 128.0, **knobs) -> np.ndarray:
    theta = np.tile(THETA0, (n, 1))
    theta[:, COLS] = values
    theta[:, KNOB_NAMES.index("hat_16ths")] = 0.6  # hits on the off-beat 16ths: swing shows
    for name, value in knobs.items():
        theta[:, KNOB_NAMES.index(name)] = value
    return simulate(theta, seed=3, bpm=bpm)


def test_loops_without_humanize_are_read_exactly():
    batch = _packs([0.17, 0.0, -6.0, 9.0], bpm=121.0)
    reads = read_timing(batch.offset, batch.velocity, batch.bpm)
    shown = reads.shown
    assert shown[:, 1:].all() and shown[:, 0].mean() > 0.9
    np.testing.assert_allclose(reads.estimate[shown[:, 0], 0], 0.17, atol=1e-6)
    np.testing.assert_allclose(reads.estimate[:, 2:], np.tile([-6.0, 9.0], (200, 1)), atol=1e-3)
    np.testing.assert_allclose(reads.estimate[:, 1], 0.0, atol=1e-3)


def test_quantized_loops_read_zero_for_every_knob():
    batch = _packs([0.0, 0.0, 0.0, 0.0])
    reads = read_timing(batch.offset, batch.velocity, batch.bpm)
    np.testing.assert_array_equal(reads.estimate[reads.shown], 0.0)


@pytest.mark.parametrize("values", [[0.08, 12.0, -4.0, 7.0], [0.3, 35.0, 14.0, -18.0]])
def test_noisy_loops_are_read_within_their_standard_errors(values):
    """With 35 ms of humanize at 128 BPM (0.3 of a step) about a tenth of the offsets reach
    the simulator's limit: the censored fit still reads every knob without bias."""
    batch = _packs(values)
    reads = read_timing(batch.offset, batch.velocity, batch.bpm)
    for j in range(4):
        ok = reads.shown[:, j]
        z = (reads.estimate[ok, j] - values[j]) / reads.se[ok, j]
        assert abs(np.mean(z)) < 0.25, TIMING_KNOBS[j]  # unbiased: mean z over ~190 loops
        assert 0.7 < np.std(z) < 1.4, TIMING_KNOBS[j]  # the standard errors are honest


def test_censoring_at_the_offset_limit_matters():
    batch = _packs([0.0, 40.0, 20.0, 20.0], bpm=150.0)  # 40 ms = 0.4 of a step at 150 BPM
    at_limit = (np.abs(batch.offset) >= 0.468) & (batch.velocity > 0)
    assert at_limit.sum() / (batch.velocity > 0).sum() > 0.1
    reads = read_timing(batch.offset, batch.velocity, batch.bpm)
    assert np.median(reads.estimate[:, 1]) == pytest.approx(40.0, rel=0.05)
    assert np.median(reads.estimate[:, 2]) == pytest.approx(20.0, abs=2.0)
    # ignoring the limit reads the offsets' own spread, well under the humanize
    hit = batch.velocity > 0
    naive = np.array([np.std(o[h]) for o, h in zip(batch.offset, hit, strict=True)])
    assert np.median(naive) * step_ms(150.0) < 36.0


def test_what_the_hits_cannot_separate_is_not_shown():
    velocity = np.zeros((3, 5, 64), dtype=np.uint8)
    offset = np.zeros((3, 5, 64), dtype=np.float32)
    kick, hats = INSTRUMENTS.index("kick"), INSTRUMENTS.index("hh_closed")
    velocity[:, kick, ::4] = 100  # kicks on the beats in every loop
    velocity[0, hats, 2::4] = 80  # loop 0: hats on the 'and' only: no off-beat 16th
    velocity[1, hats, 1::2] = 80  # loop 1: hats on the off-beat 16ths only
    velocity[2, hats, ::2] = 80  # loop 2: hats on the 8ths ...
    velocity[2, hats, 1::2] = 60  # ... and the 16ths
    offset[2, hats, 1::2] = 0.25
    reads = read_timing(offset, velocity, np.full(3, 120.0))
    swing, humanize, push, hat_push = reads.shown.T
    assert push.all()
    assert not swing[0] and hat_push[0]  # no off-beat 16th: no swing, the hats' push shows
    assert not swing[1] and not hat_push[1]  # hats only on the 16ths: push and swing are one
    assert swing[2] and hat_push[2] and reads.estimate[2, 0] == pytest.approx(0.25)
    assert humanize.all()
    assert np.isinf(reads.se[~reads.shown]).all()


def test_blocks_are_read_by_name():
    batch = _packs([0.1, 5.0, 2.0, -2.0], n=5)
    assert BLOCKS["timing"] == TIMING_KNOBS
    np.testing.assert_array_equal(
        read_block("timing", batch).estimate,
        read_timing(batch.offset, batch.velocity, batch.bpm).estimate,
    )
    with pytest.raises(ValueError, match="block must be one of velocity, timing"):
        read_block("snare", batch)


def test_a_loop_on_the_limit_reads_beyond_it_without_overflow():
    """Every offset of a real loop at +0.49 of a step (beyond the simulator's limit): all
    censored, no noise left; the read is a push past the limit, computed without overflow."""
    velocity = np.zeros((2, 5, 64), dtype=np.uint8)
    velocity[:, INSTRUMENTS.index("kick"), ::4] = 100
    velocity[:, INSTRUMENTS.index("hh_closed"), ::2] = 80
    offset = np.where(velocity > 0, np.float32(0.49), np.float32(0.0))
    offset[1] *= -1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reads = read_timing(offset, velocity, np.full(2, 120.0))
    limit_ms = 15 / 32 * step_ms(120.0)
    assert (reads.estimate[0, 2:] > limit_ms).all() and (reads.estimate[1, 2:] < -limit_ms).all()
    assert np.isfinite(reads.estimate).all()
