"""Corpus targets (bootstrap CIs, Parquet round trip) and the distances between sets."""

import numpy as np
import pandas as pd
import pytest

from technorhythm.clips import HH_CLOSED, KICK, N_STEPS, ClipBatch
from technorhythm.summaries.distances import (
    DistanceWeights,
    distance,
    js_divergence,
    mmd_squared,
    ngram_matrices,
    target_distances,
)
from technorhythm.summaries.targets import (
    TARGET_NAMES,
    bootstrap_targets,
    corpus_targets,
    load_targets,
    pooled_targets,
    save_targets,
    target_stats,
    targets_from_stats,
)


def _random_batch(rng, n, density=0.3, packs=("a", "b")):
    shape = (n, 5, N_STEPS)
    v = ((rng.random(shape) < density) * rng.integers(1, 128, shape)).astype(np.uint8)
    o = np.where(v > 0, rng.uniform(-0.3, 0.3, shape), 0).astype(np.float32)
    meta = pd.DataFrame({"pack": rng.choice(list(packs), n)})
    return ClipBatch(v, o, np.full(n, 120.0), meta)


def _techno(n):
    v = np.zeros((n, 5, N_STEPS), np.uint8)
    v[:, KICK, ::4] = 110
    v[:, HH_CLOSED, 2::4] = 70
    return ClipBatch(v, np.zeros(v.shape, np.float32), np.full(n, 128.0))


def _targets(batch):
    return targets_from_stats(target_stats(batch).sum(axis=0, keepdims=True))[0]


def test_position_histograms_of_a_crafted_set():
    t = dict(zip(TARGET_NAMES, _targets(_techno(3)), strict=True))
    assert t["pos_kick_00"] == 0.25 and t["pos_kick_04"] == 0.25 and t["pos_kick_01"] == 0.0
    assert t["pos_hh_closed_02"] == 0.25 and t["pos_hh_closed_00"] == 0.0
    assert t["pos_snare_00"] == 0.0  # silent instrument: all zero


def test_bootstrap_interval_is_degenerate_for_identical_clips_and_covers_estimate(rng):
    frame = bootstrap_targets(_techno(10), n_boot=50, seed=1)
    row = frame.loc["density_kick"]
    assert row.estimate == row.ci_low == row.ci_high == 0.25 and row.boot_sd == 0
    frame = bootstrap_targets(_random_batch(rng, 300), n_boot=100, seed=1)
    assert (frame.ci_low <= frame.estimate + 1e-12).all()
    assert (frame.estimate <= frame.ci_high + 1e-12).all()
    assert frame.loc["density_kick", "ci_high"] > frame.loc["density_kick", "ci_low"]


def test_bootstrap_is_reproducible_from_the_seed(rng):
    batch = _random_batch(rng, 50)
    a = bootstrap_targets(batch, n_boot=30, seed=7)
    b = bootstrap_targets(batch, n_boot=30, seed=7)
    pd.testing.assert_frame_equal(a, b)


def test_corpus_targets_per_pack_and_overall_and_parquet_round_trip(rng, tmp_path):
    batch = _random_batch(rng, 40, packs=("p1", "p2", "p3"))
    frame = corpus_targets(batch, by="pack", n_boot=20, seed=3)
    assert set(frame["set"]) == {"all", "p1", "p2", "p3"}
    assert len(frame) == 4 * len(TARGET_NAMES)
    sizes = frame.groupby("set")["n_clips"].first()
    assert sizes["all"] == 40 and sizes.drop("all").sum() == 40
    # the estimate of a pack equals the pooled targets of its clips
    rows = np.flatnonzero(batch.meta["pack"] == "p2")
    expect = _targets(batch[rows])
    got = frame[frame["set"] == "p2"].set_index("target").loc[list(TARGET_NAMES), "estimate"]
    np.testing.assert_allclose(got.to_numpy(), expect)
    path = tmp_path / "corpus_targets.parquet"
    save_targets(frame, path)
    pd.testing.assert_frame_equal(load_targets(path), frame)


def test_corpus_targets_bad_grouping_column(rng):
    with pytest.raises(ValueError, match="cannot group by 'style'"):
        corpus_targets(_random_batch(rng, 5), by="style", n_boot=5)


def test_load_targets_refuses_other_parquet(tmp_path):
    path = tmp_path / "x.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(path)
    with pytest.raises(ValueError, match="not a technorhythm corpus-targets table"):
        load_targets(path)


def test_pooled_targets_over_groups_match_single_sets(rng):
    batch = _random_batch(rng, 30)
    groups = np.arange(30) % 3
    pooled = pooled_targets(batch, groups, 3)
    np.testing.assert_allclose(pooled[1], _targets(batch[np.flatnonzero(groups == 1)]))


def test_js_divergence_known_values():
    assert js_divergence([1, 0], [0, 1]) == pytest.approx(1.0)
    assert js_divergence([2, 2], [1, 1]) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="non-empty"):
        js_divergence([0, 0], [1, 1])


def test_ngram_matrices_are_row_stochastic(rng):
    m = ngram_matrices(_targets(_random_batch(rng, 10)))
    assert m.shape == (5, 6, 2)
    np.testing.assert_allclose(m.sum(axis=2), 1.0)


@pytest.mark.slow  # first import of torch + sbi takes several seconds
def test_distance_is_zero_between_a_set_and_itself_and_grows_with_difference(rng):
    a = _random_batch(rng, 200)
    same = target_distances(_targets(a), _targets(a))
    assert all(v == pytest.approx(0.0, abs=1e-12) for v in same.values())
    near = distance(a[:100], a[100:], seed=0)
    far = distance(a, _techno(50), seed=0)
    for key in ("js", "ngram", "acf", "cooc", "mmd"):
        assert far.components[key] > near.components[key], key
    assert far.total > near.total > 0 or near.total <= 0.05


def test_mmd_sign_and_requirements(rng):
    x = rng.normal(size=(100, 3))
    assert abs(mmd_squared(x[:50], x[50:])) < 0.05
    assert mmd_squared(x, x + 3.0) > 0.5
    with pytest.raises(ValueError, match="at least 2"):
        mmd_squared(x[:1], x)


def test_composite_weights_and_single_clip_sets(rng):
    other = _random_batch(rng, 3)
    report = distance(_techno(1), other)
    assert "mmd" not in report.components  # undefined for a set of one
    w = DistanceWeights(js=1, ngram=0, acf=0, mmd=0, cooc=0)
    assert distance(_techno(1), other, weights=w).total == pytest.approx(report.components["js"])
    with pytest.raises(ValueError, match="'acf'"):
        DistanceWeights(acf=-1)
