"""Set-level summary vectors: definition, finiteness, grouping and known values."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from technorhythm.clips import HH_CLOSED, KICK, N_STEPS, SNARE, ClipBatch
from technorhythm.summaries import (
    SUMMARY_DOCS,
    SUMMARY_NAMES,
    summaries_hash,
    summarize,
    summarize_sets,
)


def _random_batch(rng, n, density=0.3):
    shape = (n, 5, N_STEPS)
    v = ((rng.random(shape) < density) * rng.integers(1, 128, shape)).astype(np.uint8)
    o = np.where(v > 0, rng.uniform(-0.45, 0.45, shape), 0).astype(np.float32)
    return ClipBatch(v, o, rng.uniform(80, 160, n))


def _named(x):
    return dict(zip(SUMMARY_NAMES, x.tolist(), strict=True))


def test_names_are_unique_documented_and_moderate_in_number():
    assert 40 <= len(SUMMARY_NAMES) <= 130
    assert len(set(SUMMARY_NAMES)) == len(SUMMARY_NAMES)
    assert set(SUMMARY_DOCS) == set(SUMMARY_NAMES)
    assert not any(name in ("n", "N", "n_clips", "size") for name in SUMMARY_NAMES)


def test_hash_is_stable_hex():
    h = summaries_hash()
    assert h == summaries_hash() and len(h) == 16
    int(h, 16)


def test_summarize_sets_equals_summarize_per_group(rng):
    batch = _random_batch(rng, 60)
    groups = rng.integers(0, 7, 60)
    groups[:7] = np.arange(7)  # every set id occurs
    x = summarize_sets(batch, groups)
    assert x.shape == (7, len(SUMMARY_NAMES)) and x.dtype == np.float32
    for g in range(7):
        np.testing.assert_allclose(x[g], summarize(batch[np.flatnonzero(groups == g)]), atol=1e-6)


def test_order_of_clips_does_not_matter(rng):
    batch = _random_batch(rng, 20)
    perm = rng.permutation(20)
    np.testing.assert_allclose(summarize(batch), summarize(batch[perm]), atol=1e-6)


def test_finite_for_single_clips_and_empty_instruments(rng):
    silent = ClipBatch.empty(1)
    x = summarize(silent)
    assert np.isfinite(x).all()
    v = np.zeros((1, 5, N_STEPS), np.uint8)
    v[0, KICK, 0] = 1  # one very soft kick, nothing else
    x = summarize(ClipBatch(v, np.zeros(v.shape, np.float32), [60.0]))
    assert np.isfinite(x).all()
    many = summarize_sets(_random_batch(rng, 50, density=0.05), np.arange(50))
    assert np.isfinite(many).all()
    # spreads of a set of one are zero
    sd = [k for k, n in enumerate(SUMMARY_NAMES) if n.endswith("_sd")]
    assert np.all(many[:, sd] == 0)


def test_entries_are_scale_normalised(rng):
    x = summarize_sets(_random_batch(rng, 400, density=0.5), np.arange(400) % 40)
    assert np.abs(x).max() <= 1.5


def test_known_values_and_between_clip_spread():
    v = np.zeros((2, 5, N_STEPS), np.uint8)
    v[0, KICK, ::4] = 127  # four on the floor
    v[1, KICK, ::8] = 127  # half time: 8 kicks
    v[:, SNARE, 4::8] = 100
    v[:, HH_CLOSED, 2::4] = 64
    x = _named(summarize(ClipBatch(v, np.zeros(v.shape, np.float32), [128.0, 128.0])))
    assert x["density_kick"] == pytest.approx((16 + 8) / 128)
    assert x["density_kick_sd"] == pytest.approx(0.5 * (16 - 8) / 64)
    assert x["vel_mean_kick"] == pytest.approx(1.0)
    assert x["vel_mean_hh_closed"] == pytest.approx(64 / 127)
    assert x["snare_backbeat"] == pytest.approx(1.0)
    assert x["off8_ratio_hh_closed"] == pytest.approx(1.0)
    assert x["acf_kick_lag8"] == pytest.approx(1.0)
    assert x["acf_kick_lag4"] == pytest.approx(16 / 24)
    assert x["cooc_kick_hat_p2"] == pytest.approx(1.0)


def test_bad_groups_are_rejected_with_clear_messages(rng):
    batch = _random_batch(rng, 4)
    with pytest.raises(ValueError, match="no clips"):
        summarize_sets(batch, np.array([0, 0, 2, 2]))
    with pytest.raises(ValueError, match="shape"):
        summarize_sets(batch, np.array([0, 1]))
    with pytest.raises(ValueError, match="≥ 0"):
        summarize_sets(batch, np.array([0, -1, 0, 0]))
    with pytest.raises(ValueError, match="empty"):
        summarize(ClipBatch.empty(0))
    with pytest.raises(ValueError, match="n_sets"):
        summarize_sets(batch, np.array([0, 1, 2, 3]), n_sets=2)


def test_fast_spread_features_agree_with_the_feature_definitions(rng):
    from technorhythm.summaries.core import clip_stats
    from technorhythm.summaries.features import features_from_stats
    from technorhythm.summaries.sets import _SPREAD_IDX, _SPREAD_SCALE, _spread_features

    batch = _random_batch(rng, 40, density=0.2)
    v = batch.velocity.copy()
    v[:3] = 0  # empty clips: fills must agree too
    v[3, :, 1::2] = 0  # no off-16ths: swing undefined
    stats = clip_stats(v, batch.offset * (v > 0), batch.bpm)
    expect = features_from_stats(stats)[:, _SPREAD_IDX] / _SPREAD_SCALE
    np.testing.assert_allclose(_spread_features(stats), expect, rtol=1e-12, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 12),
    density=st.floats(0.0, 1.0),
    bpm=st.floats(60.0, 200.0),
)
def test_property_finite_bounded_and_consistent_with_single_sets(seed, n, density, bpm):
    rng = np.random.default_rng(seed)
    shape = (n, 5, N_STEPS)
    v = ((rng.random(shape) < density) * rng.integers(1, 128, shape)).astype(np.uint8)
    o = np.where(v > 0, rng.uniform(-0.5, 0.4999, shape), 0).astype(np.float32)
    batch = ClipBatch(v, o, np.full(n, bpm))
    groups = rng.integers(0, 3, n)
    groups[0] = 0
    _, groups = np.unique(groups, return_inverse=True)  # ids 0..G-1, all used
    x = summarize_sets(batch, groups)
    assert np.isfinite(x).all()
    ms = [k for k, name in enumerate(SUMMARY_NAMES) if "_ms" in name]
    rest = np.setdiff1d(np.arange(len(SUMMARY_NAMES)), ms)
    assert np.abs(x[:, rest]).max() <= 1.0 + 1e-6
    assert np.abs(x[:, ms]).max() <= 2.5
    for g in range(x.shape[0]):
        np.testing.assert_allclose(x[g], summarize(batch[np.flatnonzero(groups == g)]), atol=1e-6)


def test_vel_cell_spread_separates_noise_from_accent_patterns():
    """0 for velocities fixed by bar position; the within-cell sd (÷ 64) otherwise."""
    col = SUMMARY_NAMES.index("vel_cell_spread")
    v = np.zeros((1, 5, 64), np.uint8)
    v[0, 2, 0::2] = np.tile([100, 40], 16)  # accented hat pattern, same in every bar
    v[0, 0, 0::16] = 120
    flat = ClipBatch(v, np.zeros(v.shape, np.float32), 128.0)
    assert summarize(flat)[col] == 0.0
    noisy = v.copy()
    noisy[0, 0, 0::16] = [110, 127, 110, 127]  # kick cell on step 0: mean 118.5
    x = summarize(ClipBatch(noisy, np.zeros(v.shape, np.float32), 128.0))
    dev = np.array([110, 127, 110, 127]) - 118.5
    expected = np.sqrt((dev**2).sum() / (32 + 4)) / 64
    assert x[col] == pytest.approx(expected, rel=1e-6)


def test_given_clip_stats_give_the_same_bytes(rng, monkeypatch):
    """The training simulation passes the clip statistics it already has; nothing changes."""
    from technorhythm.summaries import sets
    from technorhythm.summaries.features import batch_stats

    batch = _random_batch(rng, 300)
    groups = rng.integers(0, 7, 300)
    groups[:7] = np.arange(7)
    stats = batch_stats(batch)
    plain = summarize_sets(batch, groups)
    assert summarize_sets(batch, groups, stats=stats).tobytes() == plain.tobytes()
    monkeypatch.setattr(sets, "_CHUNK", 64)  # several chunks: the same slices of the stats
    chunked = summarize_sets(batch, groups)
    assert summarize_sets(batch, groups, stats=stats).tobytes() == chunked.tobytes()
    with pytest.raises(ValueError, match="stats must have shape"):
        summarize_sets(batch, groups, stats=stats[:-1])
