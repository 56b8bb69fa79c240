"""Per-clip features against hand-computed answers on small crafted clips."""

import numpy as np
import pytest

from technorhythm.clips import CYMBAL, HH_CLOSED, HH_OPEN, KICK, N_STEPS, SNARE, ClipBatch
from technorhythm.summaries import FEATURE_NAMES, NGRAM_ALPHA, clip_features, features_frame
from technorhythm.summaries.core import STAT_NAMES, clip_stats, onset_bits, popcount, rotate
from technorhythm.summaries.features import features_from_stats


def _clip(bpm=120.0):
    return np.zeros((1, 5, N_STEPS), np.uint8), np.zeros((1, 5, N_STEPS), np.float32), bpm


def _features(v, o, bpm=120.0, fill=0.0):
    frame = features_frame(ClipBatch(v, o, [bpm]), fill=fill)
    return frame.iloc[0]


def four_on_the_floor():
    v, o, _ = _clip()
    v[0, KICK, ::4] = 100
    return v, o


def test_at_least_twenty_named_features_and_unique_names():
    assert len(FEATURE_NAMES) >= 20
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)
    assert len(set(STAT_NAMES)) == len(STAT_NAMES)


def test_bit_packing_and_rotation():
    on = np.zeros((1, 1, N_STEPS), bool)
    on[0, 0, [0, 5, 63]] = True
    bits = onset_bits(on)
    assert int(bits[0, 0]) == (1 << 0) | (1 << 5) | (1 << 63)
    # rotate(x, k) has bit t = x[t + k]
    r = rotate(bits, 5)
    assert int(r[0, 0]) == (1 << 0) | (1 << 58) | (1 << 59)
    assert popcount(bits)[0, 0] == 3


def test_four_on_the_floor_kick():
    f = _features(*four_on_the_floor())
    assert f["density_kick"] == 16 / 64
    assert f["acf_kick_lag4"] == 1.0
    assert f["acf_kick_lag8"] == 1.0
    assert f["acf_kick_lag2"] == 0.0 and f["acf_kick_lag1"] == 0.0
    assert f["off8_ratio_kick"] == 0.0 and f["off16_ratio_kick"] == 0.0
    assert f["vel_mean_kick"] == 100.0 and f["vel_std_kick"] == 0.0
    assert f["vel_hist_6"] == 1.0  # 100 is in 96..111
    # other instruments are silent: fill value 0, density 0
    assert f["density_snare"] == 0.0 and f["vel_mean_snare"] == 0.0


def test_nan_fill_for_undefined_values():
    f = _features(*four_on_the_floor(), fill=np.nan)
    assert np.isnan(f["vel_mean_snare"]) and np.isnan(f["acf_hh_closed_lag4"])
    assert np.isnan(f["push_cymbal"])
    assert f["density_snare"] == 0.0  # densities are always defined


def test_offbeat_hat_ratios():
    v, o, _ = _clip()
    v[0, HH_OPEN, 2::4] = 90  # open hat on every off-beat 8th
    v[0, HH_CLOSED, 1::2] = 60  # closed hat on every off-beat 16th
    f = _features(v, o)
    assert f["off8_ratio_hh_open"] == 1.0 and f["off16_ratio_hh_open"] == 0.0
    assert f["off16_ratio_hh_closed"] == 1.0 and f["off8_ratio_hh_closed"] == 0.0
    assert f["density_hh_open"] == 16 / 64 and f["density_hh_closed"] == 32 / 64
    assert f["acf_hh_closed_lag2"] == 1.0 and f["acf_hh_closed_lag1"] == 0.0


def test_ngram_counts_and_dirichlet_smoothing():
    v, o, _ = _clip()
    v[0, SNARE, [0, 1, 2, 10]] = 80  # circular: runs 0-1-2 and 10
    f = _features(v, o)
    a = NGRAM_ALPHA
    n, n11 = 4, 2  # pairs (0,1), (1,2)
    assert f["ng1_snare_from1"] == pytest.approx((n11 + a) / (n + 2 * a))
    assert f["ng1_snare_from0"] == pytest.approx((n - n11 + a) / (64 - n + 2 * a))
    # order 2: contexts (x_{t-2}, x_{t-1}); counts of a following onset
    # 11 -> t=2 only (context count 2: steps (0,1) and (1,2); after (1,2) step 3 is silent)
    assert f["ng2_snare_from11"] == pytest.approx((1 + a) / (2 + 2 * a))
    # 01 -> t=1 (0 silent at 63, 1 at 0) and t=11? (9 silent, 10 on, 11 silent): 1 of 2
    assert f["ng2_snare_from01"] == pytest.approx((1 + a) / (2 + 2 * a))
    # 10 -> contexts (2,3) and (10,11): followed by 4 and 12, both silent: 0 of 2
    assert f["ng2_snare_from10"] == pytest.approx((0 + a) / (2 + 2 * a))
    # 00 -> 64 - 2*4 + 2 = 58 contexts, followed by an onset before step 0 and step 10: 2
    assert f["ng2_snare_from00"] == pytest.approx((2 + a) / (58 + 2 * a))
    # a silent instrument has the prior mean 1/2 after onsets, ~0 after silence
    assert f["ng1_cymbal_from1"] == 0.5
    assert f["ng1_cymbal_from0"] == pytest.approx(a / (64 + 2 * a))


def test_cooccurrence_lead_and_lag():
    v, o, _ = _clip()
    v[0, KICK, [0, 16, 32, 48]] = 110
    v[0, HH_CLOSED, [2, 18, 34, 50]] = 70  # hat two steps after every kick
    v[0, SNARE, [63, 15]] = 90  # snare one step before two of the kicks (circular for 0)
    f = _features(v, o)
    assert f["cooc_kick_hat_p2"] == 1.0
    assert f["cooc_kick_hat_p1"] == 0.0 and f["cooc_kick_hat_p0"] == 0.0
    assert f["cooc_kick_hat_m2"] == 0.0
    assert f["cooc_kick_snare_m1"] == 0.5
    assert f["cooc_kick_snare_p1"] == 0.0


def test_backbeat_and_crash_positions():
    v, o, _ = _clip()
    v[0, SNARE, [4, 12, 20, 28, 36, 44, 52, 60]] = 100  # every backbeat
    v[0, SNARE, [7, 23]] = 40  # two ghost notes
    v[0, CYMBAL, [0, 32]] = 120  # crash on bars 1 and 3
    f = _features(v, o)
    assert f["snare_backbeat"] == 1.0
    assert f["snare_other_density"] == 2 / 56
    assert f["cymbal_downbeat"] == 0.5
    assert f["cymbal_other_density"] == 0.0
    # bars 1 and 3 (crash) differ from bars 2 and 4 (ghost in bar 2 only)
    assert f["bar_repeat"] == 0.0
    assert f["vel_mean_snare"] == pytest.approx((8 * 100 + 2 * 40) / 10)
    assert f["vel_std_snare"] == pytest.approx(np.std([100] * 8 + [40] * 2))


def test_bar_repetition_and_open_hat_share():
    v, o, _ = _clip()
    bar = np.zeros((5, 16), np.uint8)
    bar[KICK, ::4] = 100
    bar[HH_CLOSED, [2, 6, 10]] = 60
    bar[HH_OPEN, 14] = 80
    v[0] = np.tile(bar, (1, 4))
    f = _features(v, o)
    assert f["bar_repeat"] == 1.0
    assert f["hat_open_share_off8"] == 0.25
    v[0, SNARE, 16 + 7] = 30  # bar 2 gets a ghost note
    v[0, CYMBAL, 48 + 3] = 30  # bar 4 a ride hit
    f = _features(v, o)
    assert f["bar_repeat"] == pytest.approx(1 / 3)
    assert f["cymbal_other_density"] == 1 / 60


def test_swing_and_microtiming():
    v, o, _ = _clip()
    v[0, HH_CLOSED, :] = 80  # all 16ths
    o[0, HH_CLOSED, 1::2] = 0.25  # off-16ths late by a quarter step
    o[0, HH_CLOSED, 0::4] = -0.1  # quarter beats pushed
    v[0, KICK, ::4] = 100
    o[0, KICK, ::4] = -0.1
    bpm = 120.0  # one 16th = 125 ms
    f = _features(v, o, bpm)
    assert f["offset_off16_mean"] == pytest.approx(0.25)
    # even-step onsets: 16 hats at -0.1, 16 hats at 0, 16 kicks at -0.1
    assert f["offset_on8_mean"] == pytest.approx(-3.2 / 48)
    assert f["swing"] == pytest.approx(0.25 + 3.2 / 48)
    assert f["push_kick"] == pytest.approx(-0.1)
    assert f["push_kick_ms"] == pytest.approx(-12.5)
    assert f["push_hh_closed"] == pytest.approx((32 * 0.25 - 16 * 0.1) / 64)
    even = np.r_[np.full(32, -0.1), np.zeros(16)]
    odd = np.full(32, 0.25)
    spread = np.sqrt((((even - even.mean()) ** 2).sum() + ((odd - odd.mean()) ** 2).sum()) / 80)
    assert f["timing_spread"] == pytest.approx(spread, rel=1e-6)
    assert f["timing_spread_ms"] == pytest.approx(spread * 125.0, rel=1e-6)


def test_velocity_accent_and_histogram():
    v, o, _ = _clip()
    v[0, HH_CLOSED, ::2] = 40
    v[0, HH_CLOSED, ::4] = 120  # accented quarter beats
    f = _features(v, o)
    assert f["vel_accent"] == pytest.approx(120 - 40)
    assert f["vel_hist_2"] == 0.5 and f["vel_hist_7"] == 0.5  # 40 in 32..47, 120 in 112..127


def test_batch_rows_are_independent_and_match_single_clips(rng):
    n = 7
    v = ((rng.random((n, 5, N_STEPS)) < 0.3) * rng.integers(1, 128, (n, 5, N_STEPS))).astype(
        np.uint8
    )
    o = np.where(v > 0, rng.uniform(-0.4, 0.4, v.shape), 0).astype(np.float32)
    batch = ClipBatch(v, o, rng.uniform(90, 140, n))
    full = clip_features(batch)
    for i in range(n):
        np.testing.assert_allclose(clip_features(batch[i])[0], full[i], rtol=1e-12)
    assert np.isfinite(full).all()


def test_pooled_features_are_ratios_of_summed_counts():
    v, o, _ = _clip()
    v = np.repeat(v, 2, axis=0)
    o = np.repeat(o, 2, axis=0)
    v[0, KICK, ::4] = 100  # 16 kicks at 100
    v[1, KICK, [0, 32]] = 50  # 2 kicks at 50
    s = clip_stats(v, o, np.full(2, 128.0))
    pooled = features_from_stats(s.sum(axis=0, keepdims=True))[0]
    f = dict(zip(FEATURE_NAMES, pooled, strict=True))
    assert f["density_kick"] == (16 + 2) / 128
    assert f["vel_mean_kick"] == pytest.approx((16 * 100 + 2 * 50) / 18)
    # lag-4 autocorrelation: 16 repeats in clip 0, none in clip 1, over 18 kicks
    assert f["acf_kick_lag4"] == pytest.approx(16 / 18)
    assert f["acf_kick_lag32"] == pytest.approx((16 + 2) / 18)


def test_bad_input_is_named():
    with pytest.raises(TypeError, match="ClipBatch"):
        clip_features(np.zeros((1, 5, 64)))
    with pytest.raises(ValueError, match="shape"):
        clip_stats(np.zeros((1, 4, 64), np.uint8), np.zeros((1, 4, 64), np.float32), [120.0])


def test_empty_batch_gives_empty_frame():
    frame = features_frame(ClipBatch.empty(0))
    assert frame.shape == (0, len(FEATURE_NAMES))


def test_offsets_of_silent_cells_are_ignored():
    v, o, _ = _clip()
    v[0, KICK, ::4] = 100
    o[0, KICK, ::4] = 0.1
    o[0, SNARE, 5] = 0.3  # stray offset where nothing is struck
    f = _features(v, o)
    assert f["push_kick"] == pytest.approx(0.1)
    assert f["push_snare"] == 0.0
    assert f["offset_off16_mean"] == 0.0 and f["offset_on8_mean"] == pytest.approx(0.1)
