"""Real (MIDI-read) and simulated clips go through the same feature code path."""

import numpy as np
import pytest

from technorhythm.clips import CYMBAL, HH_CLOSED, HH_OPEN, KICK, N_STEPS, SNARE, ClipBatch
from technorhythm.corpus import read_midi
from technorhythm.midi import write_midi
from technorhythm.summaries import SUMMARY_NAMES, clip_features, summarize

TICKS_PER_STEP = 120  # write_midi default: 480 ticks per beat, 4 steps per beat


def _groove_clip():
    v = np.zeros((1, 5, N_STEPS), np.uint8)
    o = np.zeros((1, 5, N_STEPS), np.float32)
    v[0, KICK, ::4] = 118
    v[0, KICK, 30] = 70
    v[0, SNARE, 4::8] = 104
    v[0, SNARE, [23, 55]] = 35
    v[0, HH_CLOSED, 1::2] = 60
    v[0, HH_CLOSED, 2::4] = 85
    v[0, HH_OPEN, 14::16] = 90
    v[0, HH_CLOSED, 14::16] = 0  # choked under the open hat
    v[0, CYMBAL, 0] = 120
    # microtiming on the MIDI tick grid so that the round trip is exact
    o[0, HH_CLOSED, 1::2] = 24 / TICKS_PER_STEP  # swung off-16ths
    o[0, SNARE, 4::8] = 6 / TICKS_PER_STEP  # laid-back backbeat
    o[0, KICK, 4::4] = -3 / TICKS_PER_STEP  # pushed kicks (not step 0: no negative ticks)
    return ClipBatch(v, o, [120.0])


def test_clip_and_its_midi_round_trip_give_the_same_features(tmp_path):
    clip = _groove_clip()
    path = tmp_path / "swung-groove-120bpm.mid"
    write_midi(clip, path)
    back = read_midi(path)
    assert len(back) == 1
    np.testing.assert_array_equal(back.velocity, clip.velocity)
    np.testing.assert_allclose(back.offset, clip.offset, atol=1e-6)
    np.testing.assert_allclose(clip_features(back), clip_features(clip), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(summarize(back), summarize(clip), rtol=1e-5, atol=1e-6)


def test_simulated_clips_use_the_same_functions():
    from technorhythm.simulator import simulate
    from technorhythm.simulator.knobs import default_theta

    theta = {**default_theta(), "swing_16": 0.3, "humanize_ms": 0.0}
    batch = simulate(theta, 200, seed=3)
    assert isinstance(batch, ClipBatch)
    f = clip_features(batch)
    assert f.shape[0] == 200 and np.isfinite(f).all()
    x = dict(zip(SUMMARY_NAMES, summarize(batch).tolist(), strict=True))
    # without jitter, swing is read back exactly: off-16ths late by 0.3 step, 8ths on the grid
    assert x["offset_off16_mean"] == pytest.approx(0.3, abs=1e-6)
    assert x["offset_on8_mean"] == pytest.approx(0.0, abs=1e-6)
    assert x["timing_spread_ms"] == pytest.approx(0.0, abs=1e-6)


def test_every_knob_moves_some_summary_well_beyond_resampling_noise():
    from technorhythm.simulator import simulate
    from technorhythm.simulator.knobs import KNOBS, default_theta
    from technorhythm.simulator.sweeps import SWEEP_BASE

    for k, knob in enumerate(KNOBS):
        # where the knob acts: e.g. kick_late moves extra kicks, so it needs some (the sweeps')
        base = {**default_theta(), **SWEEP_BASE.get(knob.name, {})}
        span = knob.high - knob.low
        lo = {**base, knob.name: knob.low + 0.1 * span}
        hi = {**base, knob.name: knob.high - 0.1 * span}
        a = summarize(simulate(lo, 300, seed=10 * k + 1))
        a2 = summarize(simulate(lo, 300, seed=10 * k + 2))
        b = summarize(simulate(hi, 300, seed=10 * k + 3))
        z = np.abs(b - a) / (np.abs(a2 - a) + 0.005)
        assert z.max() > 10, f"{knob.name}: largest change only {z.max():.1f}× noise"
