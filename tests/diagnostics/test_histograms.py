"""Core histograms with bootstrap bands, on hand-built sets with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from technorhythm.clips import ClipBatch
from technorhythm.diagnostics.histograms import band, bin_labels, clip_counts, run_histograms
from technorhythm.simulator import simulate
from technorhythm.simulator.knobs import default_theta


def _clips(kick_steps: list[int], n: int, *, velocity: int = 100, offset: float = 0.0) -> ClipBatch:
    vel = np.zeros((n, 5, 64), np.uint8)
    off = np.zeros((n, 5, 64), np.float32)
    for bar in range(4):
        for s in kick_steps:
            vel[:, 0, 16 * bar + s] = velocity
            off[:, 0, 16 * bar + s] = offset
    return ClipBatch(vel, off, np.full(n, 125.0))  # 125 bpm: one 16th = 120 ms


def test_four_on_the_floor_against_half_time():
    real = _clips([0, 4, 8, 12], 10)
    gen = _clips([0, 8], 30, velocity=40, offset=0.1)  # 0.1 step = 12 ms late
    res = run_histograms(real, gen, n_splits=3)
    onset = res["onset"]
    kick = onset.real[:16]
    np.testing.assert_array_equal(kick, np.isin(np.arange(16), [0, 4, 8, 12]).astype(float))
    assert onset.real[16:].sum() == 0
    # Σ|gen − real| / Σ real on the kick row: kicks missing on 4 and 12 → 2 / 4
    assert onset.rel_error == pytest.approx(0.5)
    assert onset.rel_error_by_instrument["kick"] == (pytest.approx(0.5), 0.0)
    assert onset.rel_error_floor == 0.0  # identical real clips: no noise at all
    # outside the band exactly where the kick is missing: bins kick@04 and kick@12
    outside = [lab for lab, ok in zip(bin_labels("onset"), onset.inside, strict=True) if not ok]
    assert outside == ["kick@04", "kick@12"]
    assert onset.in_band == pytest.approx(78 / 80)
    # velocity: real all in bin 6 (96-111), generated all in bin 2 (32-47)
    vel = res["velocity"]
    assert vel.real[6] == 1 and vel.generated[2] == 1 and vel.rel_error == pytest.approx(2.0)
    # timing: real on the grid (middle bin), generated 12 ms late (7.5..15 bin)
    timing = res["timing"]
    assert bin_labels("timing")[int(np.argmax(timing.real))] == "-2.5..2.5"
    assert bin_labels("timing")[int(np.argmax(timing.generated))] == "7.5..15"
    # every clip repeats bar 1 in bars 2-4
    np.testing.assert_array_equal(res["bar_repeat"].real, [0, 0, 0, 1])


def test_band_is_widened_where_the_real_set_never_plays():
    real = _clips([0, 4, 8, 12], 20)
    counts = clip_counts(real)["onset"]
    lo, hi = band("onset", counts, seed=0)
    edge = 1 - 0.025 ** (1 / 20)  # one trial per clip (each its own file here)
    assert hi[1] == pytest.approx(edge)  # never struck: [0, 1 − 0.025^(1/20)]
    assert lo[0] == pytest.approx(1 - edge)  # always struck: [0.025^(1/20), 1]
    assert lo[1] == 0 and hi[0] == 1
    # clips of one file count once: 20 clips from 4 files widen the band to 4 trials
    files = np.repeat(np.arange(4), 5)
    lo4, hi4 = band("onset", counts, groups=files, seed=0)
    assert hi4[1] == pytest.approx(1 - 0.025 ** (1 / 4))


def test_same_generator_is_inside_the_band_and_near_its_floor():
    theta = default_theta()
    real = simulate(theta, 120, seed=1)
    gen = simulate(theta, 1000, seed=2)
    res = run_histograms(real, gen, seed=0)
    assert res["onset"].in_band > 0.85
    for name in ("onset", "velocity", "timing"):
        assert res[name].rel_error < 1.5 * res[name].rel_error_floor + 0.02
    other = simulate({**theta, "hat_16ths": 1.0}, 1000, seed=2)
    worse = run_histograms(real, other, seed=0)
    assert worse["onset"].in_band < res["onset"].in_band
    assert worse["onset"].rel_error > 3 * worse["onset"].rel_error_floor


def test_needs_two_real_clips():
    with pytest.raises(ValueError, match="at least 2 clips"):
        run_histograms(_clips([0], 1), _clips([0], 5))
