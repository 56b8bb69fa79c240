"""fit_groups and the fit folder, with an oracle estimator whose answer is known."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from oracle_estimator import OracleEstimator

from technorhythm.clips import ClipBatch
from technorhythm.inference.population import Population
from technorhythm.posteriors.fit import fit_groups
from technorhythm.posteriors.report import format_summary, load_fit, save_fit
from technorhythm.simulator import simulate
from technorhythm.simulator.knobs import KNOB_NAMES, KNOBS, default_theta

THETA0 = np.array([default_theta()[k] for k in KNOB_NAMES])
# far from the defaults: every knob at 85% of its range
THETA1 = np.array([k.low + 0.85 * (k.high - k.low) for k in KNOBS])


def _batch(parts: list[tuple[np.ndarray, int, dict]], seed: int = 0) -> ClipBatch:
    """Clips simulated at given θ with metadata: [(theta, n, meta columns), ...]."""
    batches, metas, start = [], [], 0
    for theta, n, meta in parts:
        batches.append(simulate(theta, n, seed=seed, start_index=start))
        metas.append(pd.DataFrame({k: [v] * n for k, v in meta.items()}))
        start += n
    b = ClipBatch.concat(batches)
    return ClipBatch(b.velocity, b.offset, b.bpm, pd.concat(metas, ignore_index=True))


@pytest.fixture(scope="module")
def two_packs() -> ClipBatch:
    return _batch(
        [
            (THETA0, 40, {"pack": "at_theta0", "style": "techno", "split": "train"}),
            (THETA1, 30, {"pack": "elsewhere", "style": "techno", "split": "test"}),
        ]
    )


K = len(KNOB_NAMES)


def test_groups_sizes_hyperparameters_and_loops(two_packs):
    est = OracleEstimator(THETA0)
    res = fit_groups(two_packs, estimator=est, by="pack", n_samples=300, seed=1)
    assert res.group_names() == ["at_theta0", "elsewhere"]
    assert [g.n_clips for g in res.groups] == [40, 30]
    assert [g.n_conditioned for g in res.groups] == [40, 30]
    g0 = res.groups[0]
    assert g0.hyper.shape == (300, 2 * K)
    assert g0.loops.shape == (300, 40, K)
    assert g0.loop_ids[:2] == ("at_theta0/0", "at_theta0/1")
    # the estimator saw each pack's own observation: last entry log2(N)/10
    np.testing.assert_allclose([c[-1] for c in est.calls], np.log2([40, 30]) / 10)
    # the loops' mean knob values (a location may lie beyond a bound where the hits say
    # little, as kick_late's does with two extra kicks in 40 loops)
    mean = Population.from_registry().mean(g0.hyper).mean(axis=0)
    np.testing.assert_allclose(mean, THETA0, atol=0.05 * 8)
    assert res.skipped.empty and g0.clip_ids == ()
    no_loops = fit_groups(two_packs, estimator=est, by="pack", n_samples=10, loops=False)
    assert all(g.loops is None and g.loop_ids == () for g in no_loops.groups)


def test_threads_reach_the_loop_draws_and_the_record(two_packs):
    est = OracleEstimator(THETA0)
    res = fit_groups(two_packs, estimator=est, by="pack", n_samples=10, threads=2)
    assert est.loop_threads == 2 and res.options["threads"] == 2


def test_the_network_draws_only_the_knobs_no_block_reads(two_packs):
    est = OracleEstimator(THETA0)
    res = fit_groups(two_packs[:40], estimator=est, by="pack", n_samples=10)
    asked = [KNOB_NAMES[c] for c in est.loop_columns]
    assert "variation" in asked  # no block reads it
    for name in ("snare_velocity", "swing_16", "kick_pulses", "backbeat"):
        assert name not in asked  # every loop shows it: its block draws it
    assert not np.isnan(res.groups[0].loops).any()
    fit_groups(two_packs[:40], estimator=est, by="pack", n_samples=10, velocities="network")
    assert "snare_velocity" in [KNOB_NAMES[c] for c in est.loop_columns]
    fit_groups(
        two_packs[:40], estimator=est, by="pack", n_samples=10,
        velocities="network", timing="network", onsets="network", kicks="network",
    )  # fmt: skip
    assert est.loop_columns is None  # no block: every knob from the network


def test_group_draws_do_not_depend_on_other_groups(two_packs):
    est = OracleEstimator(THETA0)
    both = fit_groups(two_packs, estimator=est, by="pack", seed=3, n_samples=50)
    only = fit_groups(two_packs[40:], estimator=est, by="pack", seed=3, n_samples=50)
    np.testing.assert_array_equal(both.groups[1].hyper, only.groups[0].hyper)
    np.testing.assert_array_equal(both.groups[1].loops, only.groups[0].loops)
    again = fit_groups(two_packs, estimator=est, by="pack", seed=4, n_samples=50)
    assert not np.array_equal(both.groups[0].hyper, again.groups[0].hyper)


def test_n_beyond_training_range_needs_an_explicit_cap():
    batch = _batch([(THETA0, 80, {"pack": "big"})])
    with pytest.raises(ValueError, match="n_cap"):
        fit_groups(batch, estimator=OracleEstimator(THETA0, n_max=64))
    res = fit_groups(batch, estimator=OracleEstimator(THETA0, n_max=64), n_cap=64, n_samples=20)
    g = res.groups[0]
    assert (g.n_clips, g.n_conditioned) == (80, 64)
    assert g.x_obs[-1] == pytest.approx(np.log2(64) / 10)
    assert res.options["n_cap"] == 64


def test_by_all_split_and_style(two_packs):
    est = OracleEstimator(THETA0, n_max=128)
    res = fit_groups(two_packs, estimator=est, by="all")
    assert res.group_names() == ["all"] and res.groups[0].n_clips == 70
    res = fit_groups(two_packs, estimator=est, by="style", split="test")
    assert res.group_names() == ["techno"] and res.groups[0].n_clips == 30
    assert res.skipped.to_dict("records") == [
        {"group": "(not in split test)", "n_clips": 40, "reason": "filtered out by --split"}
    ]
    res = fit_groups(two_packs, estimator=est, by="split")
    assert res.group_names() == ["test", "train"]


def test_add_all_fits_the_whole_selection_beside_the_groups(two_packs):
    est = OracleEstimator(THETA0, n_max=64)
    res = fit_groups(two_packs, estimator=est, by="pack", add_all=True, n_cap=64, n_samples=20)
    assert res.group_names() == ["at_theta0", "elsewhere", "all"]
    assert [g.n_clips for g in res.groups] == [40, 30, 70]
    assert [g.n_conditioned for g in res.groups] == [40, 30, 64]
    assert res.n_clips_fitted() == 70
    from technorhythm.inference.set_summaries import observe_population

    np.testing.assert_allclose(res.groups[2].x_obs, observe_population(two_packs, n_cap=64))
    # loops belong to their packs; the whole corpus has hyperparameters only
    assert res.groups[2].loops is None
    idata = res.to_inference_data()
    assert idata.posterior.sizes["loop"] == 70
    assert set(idata.posterior["loop_group"].values) == {"at_theta0", "elsewhere"}


def test_unlabelled_and_small_groups_are_accounted_for():
    batch = _batch(
        [(THETA0, 5, {"pack": "a"}), (THETA0, 2, {"pack": "b"}), (THETA0, 3, {"pack": None})]
    )
    res = fit_groups(batch, estimator=OracleEstimator(THETA0), min_clips=4, n_samples=20)
    assert res.group_names() == ["a"]
    skipped = res.skipped.set_index("group")
    assert skipped.loc["b", "n_clips"] == 2 and "fewer than 4" in skipped.loc["b", "reason"]
    assert skipped.loc["(missing)", "n_clips"] == 3
    assert sum(g.n_clips for g in res.groups) + res.skipped.n_clips.sum() == len(batch)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"by": "drummer"}, "by must be one of"),
        ({"split": "holdout"}, "split must be one of"),
        ({"n_samples": 0}, "n_samples"),
        ({"min_clips": 0}, "min_clips"),
    ],
)
def test_bad_arguments_are_named(two_packs, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit_groups(two_packs, estimator=OracleEstimator(THETA0), **kwargs)


def test_missing_metadata_is_explained():
    batch = _batch([(THETA0, 3, {"pack": "a"})])
    with pytest.raises(ValueError, match="run `technorhythm split"):
        fit_groups(batch, estimator=OracleEstimator(THETA0), by="split")
    with pytest.raises(ValueError, match="no 'style' metadata"):
        fit_groups(batch, estimator=OracleEstimator(THETA0), by="style")
    with pytest.raises(TypeError, match="ClipBatch; got int"):
        fit_groups(42, estimator=OracleEstimator(THETA0))
    with pytest.raises(FileNotFoundError, match="not a dataset folder"):
        fit_groups("no/such/folder", estimator=OracleEstimator(THETA0))


def test_fit_folder_round_trip(two_packs, tmp_path):
    res = fit_groups(
        two_packs,
        estimator=OracleEstimator(THETA0),
        by="pack",
        seed=0,
        n_samples=200,
        onsets="network",  # the oracle's sharp answer (a hat under an open hat reads wide)
        kicks="network",
    )
    record = save_fit(res, tmp_path / "fit", dataset="two_packs", flagged={"elsewhere"})
    out = tmp_path / "fit"
    names = {p.name for p in out.iterdir()}
    assert {
        "posterior.nc",
        "summary.csv",
        "summary.parquet",
        "population.csv",
        "loops.csv",
        "loops.parquet",
        "members.parquet",
        "correlations.csv",
        "skipped.csv",
        "forest.png",
        "fit.json",
        "groups",
    } == names
    assert sorted(p.name for p in (out / "groups").iterdir()) == [
        "000_at_theta0.nc",
        "001_elsewhere.nc",
    ]
    assert json.loads((out / "fit.json").read_text())["n_groups"] == record["n_groups"] == 2
    members = pd.read_parquet(out / "members.parquet")
    assert members.empty  # clips without a clip_id column name no members
    rec, idata, summary = load_fit(out)
    assert rec["by"] == "pack" and rec["model"]["model_hash"] == "unsaved"
    assert list(idata.posterior["group"].values) == ["at_theta0", "elsewhere"]
    locs = summary[summary.param == "loc"]
    row = locs[(locs.group == "elsewhere") & (locs.knob == "hat_accent")].iloc[0]
    j = KNOB_NAMES.index("hat_accent")
    assert row["mean"] == pytest.approx(res.groups[1].hyper[:, j].mean())
    assert row["n_clips"] == 30
    # the oracle is sharp (sd = 2% of range), and so are the hits, but for a pack in a dead
    # zone: at_theta0 plays no swing (0), which any population inside the zone plays
    in_zone = (locs.group == "at_theta0") & (locs.knob == "swing_16")
    assert locs[~in_zone].sd_ratio.between(0.0, 0.2).all()
    swing = res.groups[0].hyper[:, KNOB_NAMES.index("swing_16")]
    assert np.quantile(swing, 0.9) < 0.03  # the zone ends at 0.012 (a cell's width above)
    loops = pd.read_parquet(out / "loops.parquet")
    assert len(loops) == 70 * K and set(loops.group) == {"at_theta0", "elsewhere"}
    population = pd.read_csv(out / "population.csv")
    assert len(population) == 2 * K
    from technorhythm.posteriors import load_inference_data

    one = load_inference_data(out / "groups" / "001_elsewhere.nc")
    assert list(one.posterior["group"].values) == ["elsewhere"]
    # the group file holds the group's hyperparameters, the loops' draws posterior.nc only
    assert "loop" not in one.posterior.dims and "loop" in idata.posterior.dims
    assert idata.posterior.sizes["loop"] == 70
    same = idata.posterior[list(one.posterior.data_vars)].sel(group=["elsewhere"])
    assert one.posterior.equals(same)


def test_format_summary(two_packs):
    res = fit_groups(
        two_packs,
        estimator=OracleEstimator(THETA0),
        by="pack",
        n_samples=200,
        velocities="network",
        timing="network",
        onsets="network",
        kicks="network",
    )
    checks = pd.DataFrame(
        {"group": ["at_theta0", "elsewhere"], "verdict_p": [0.6, 0.0099], "flagged": [False, True]}
    )
    text = format_summary(res, checks=checks)
    assert "group 'elsewhere': 30 loops; misspecification p = 0.010 (MISSPECIFIED)" in text
    assert "group 'at_theta0': 40 loops; misspecification p = 0.600 (ok)" in text
    assert "90% of loops" in text and all(k in text for k in KNOB_NAMES)
    assert "1 group(s) flagged as misspecified: elsewhere" in text
    assert "misspecification" not in format_summary(res)  # no checks, no verdict
    columns = format_summary(res, checks=checks, max_long_groups=1)
    assert "range of 90% of loops" in columns and "misspecification p" in columns
    row = next(line for line in columns.splitlines() if line.startswith("hat_accent"))
    j = KNOB_NAMES.index("hat_accent")
    # oracle: loops at θ0 ± (2% loc, 1% spread) → a new loop ~ Normal(θ0, 0.022²)
    t0 = THETA0[j]
    assert float(row.split()[-2]) == pytest.approx(t0, abs=0.01)
    lo, hi = (float(v) for v in row.split()[-1].strip("[]").split("–"))
    assert lo == pytest.approx(t0 - 1.645 * np.hypot(0.02, 0.01), abs=0.015)
    assert hi == pytest.approx(t0 + 1.645 * np.hypot(0.02, 0.01), abs=0.015)
    pivot = format_summary(res, checks=checks, max_long_groups=1, max_column_groups=1)
    assert "loops' mean value per knob" in pivot and "misspec_p" in pivot


def test_the_velocity_knobs_are_read_from_the_hits(two_packs):
    from technorhythm.inference.velocity_block import VELOCITY_KNOBS

    est = OracleEstimator(THETA1)  # wrong on purpose: the hits must overrule it
    res = fit_groups(two_packs, estimator=est, by="pack", n_samples=200, seed=2)
    net = fit_groups(
        two_packs, estimator=est, by="pack", n_samples=200, seed=2, velocities="network"
    )
    assert res.options["velocities"] == "likelihood"
    cols = np.array([KNOB_NAMES.index(k) for k in VELOCITY_KNOBS])
    other = np.setdiff1d(np.arange(2 * K), np.concatenate([cols, K + cols]))
    at0 = res.groups[0]
    assert at0.name == "at_theta0"
    # the other knobs are the estimator's, draw for draw
    np.testing.assert_array_equal(at0.hyper[:, other], net.groups[0].hyper[:, other])
    loc = np.median(at0.hyper[:, cols], axis=0)
    # levels within 2 units, accent within 0.03, jitter within 1 (every loop at θ0)
    np.testing.assert_allclose(loc[:4], THETA0[cols[:4]], atol=2.0)
    np.testing.assert_allclose(loc[4], THETA0[cols[4]], atol=0.03)
    np.testing.assert_allclose(loc[5], THETA0[cols[5]], atol=1.0)
    assert np.median(at0.hyper[:, K + cols[:4]]) < 3.0  # one θ for all loops: little spread
    # the per-loop draws follow the hits too
    np.testing.assert_allclose(np.median(at0.loops[..., cols[1]]), THETA0[cols[1]], atol=2.0)
    with pytest.raises(ValueError, match="velocities must be one of"):
        fit_groups(two_packs, estimator=est, velocities="guess")


def test_the_loops_reads_are_kept_and_saved(two_packs, tmp_path):
    from technorhythm.inference.hit_blocks import MIN_LOOPS, pack_view, read_block, source_files
    from technorhythm.inference.velocity_block import VELOCITY_KNOBS
    from technorhythm.posteriors import load_inference_data, reads_by_group, select_group

    est = OracleEstimator(THETA1)
    res = fit_groups(
        two_packs, estimator=est, by="pack", n_samples=50, seed=2, timing="network",
        onsets="network", kicks="network",
    )  # fmt: skip
    cols = [KNOB_NAMES.index(k) for k in VELOCITY_KNOBS]
    first = res.groups[0]
    assert first.reads.shape == (40, K)
    others = np.setdiff1d(np.arange(K), cols)
    assert np.isnan(first.reads[:, others]).all()  # only the velocity knobs are read
    # the pack's reads: each loop's, its kicks read again given the pack's base pulses
    pack = two_packs[np.arange(40)]
    hits = read_block("velocity", pack, per_loop=False)
    expected = pack_view(hits, source_files(pack), first.hyper, est.population)
    kick_cols = [VELOCITY_KNOBS.index(k) for k in ("kick_velocity", "kick_accent", "kick_jitter")]
    rest = np.setdiff1d(np.arange(len(VELOCITY_KNOBS)), kick_cols)
    np.testing.assert_array_equal(expected.estimate[:, rest], hits.estimate[:, rest])
    # a knob shown by fewer than MIN_LOOPS of the pack's loops is not read
    shown = expected.shown & (expected.shown.sum(axis=0) >= MIN_LOOPS)
    assert shown.any(axis=0).sum() >= 8
    np.testing.assert_allclose(first.reads[:, cols][shown], expected.estimate[shown])
    np.testing.assert_allclose(first.read_se[:, cols][shown], expected.se[shown])
    assert np.isnan(first.reads[:, cols][~shown]).all()
    save_fit(res, tmp_path / "fit")
    idata = load_inference_data(tmp_path / "fit" / "posterior.nc")
    saved = reads_by_group(idata)
    assert list(saved) == ["at_theta0", "elsewhere"]
    np.testing.assert_allclose(saved["elsewhere"][0], res.groups[1].reads, equal_nan=True)
    np.testing.assert_allclose(saved["elsewhere"][1], res.groups[1].read_se, equal_nan=True)
    one = reads_by_group(select_group(idata, "elsewhere"))
    assert list(one) == ["elsewhere"] and one["elsewhere"][0].shape == (30, K)
    net = fit_groups(
        two_packs, estimator=est, n_samples=50, velocities="network", timing="network",
        onsets="network", kicks="network",
    )  # fmt: skip
    assert all(g.reads is None for g in net.groups)
    assert reads_by_group(net.to_inference_data()) == {}


def test_the_timing_knobs_are_read_from_the_hits(two_packs):
    from technorhythm.inference.timing_block import TIMING_KNOBS

    est = OracleEstimator(THETA1)  # wrong on purpose: the offsets must overrule it
    res = fit_groups(two_packs, estimator=est, by="pack", n_samples=200, seed=2)
    net = fit_groups(two_packs, estimator=est, by="pack", n_samples=200, seed=2, timing="network")
    assert res.options["timing"] == "likelihood" and net.options["timing"] == "network"
    cols = np.array([KNOB_NAMES.index(k) for k in TIMING_KNOBS])
    # swing to 0.01 of a step, humanize and pushes to 1 ms (every loop at its θ); at θ1
    # (swing 0.38, pushes 21 ms, humanize 34 ms) most off-beat 16ths reach the offset limit:
    # twice that
    for g, truth, tol in ((0, THETA0, 1.0), (1, THETA1, 2.0)):
        loc = np.median(res.groups[g].hyper[:, cols], axis=0)
        assert np.all(np.abs(loc - truth[cols]) <= tol * np.array([0.01, 1, 1, 1])), loc
        assert np.isfinite(res.groups[g].reads[:, cols[1:]]).all()  # every loop shows them
    # the network's reading leaves the oracle's answer, θ1, for the pack at θ0
    net_loc = np.median(net.groups[0].hyper[:, cols], axis=0)
    np.testing.assert_allclose(net_loc, THETA1[cols], rtol=0.1, atol=0.05)
    assert all(np.isnan(g.reads[:, cols]).all() for g in net.groups)  # and keeps no reads
    # the velocity block's draws do not depend on whether the timing block is read
    vcols = [KNOB_NAMES.index("kick_velocity")]
    np.testing.assert_array_equal(res.groups[0].hyper[:, vcols], net.groups[0].hyper[:, vcols])
    with pytest.raises(ValueError, match="timing must be one of"):
        fit_groups(two_packs, estimator=est, timing="guess")
