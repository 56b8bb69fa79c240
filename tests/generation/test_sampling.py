"""Knob settings for generated loops: per-loop streams, the predictive draws and the spread."""

from __future__ import annotations

import numpy as np
import pytest
from population_oracle import EDGE, SIZES, STEADY, WIDTH

from technorhythm.generation import (
    apply_spread,
    check_spread,
    draw_theta,
    hold_knobs,
    loop_streams,
    predictive_mean,
)
from technorhythm.inference.prior import knob_bounds
from technorhythm.simulator.knobs import KNOB_NAMES, KNOBS, KnobError

BOUNDS = knob_bounds()


def test_each_loop_has_its_own_streams():
    a = loop_streams(5, "steady", 3)
    again = loop_streams(5, "steady", 3)
    assert a[1] == again[1] and a[0].random() == again[0].random()
    others = [loop_streams(5, "steady", 4), loop_streams(6, "steady", 3), loop_streams(5, "x", 3)]
    assert len({a[1], *(o[1] for o in others)}) == 4
    assert 0 <= a[1] < 2**63
    with pytest.raises(ValueError, match="seed"):
        loop_streams(-1, "steady", 0)


def test_loops_do_not_depend_on_how_many_are_asked_for(steady):
    eight = draw_theta(steady, 8, seed=2)
    np.testing.assert_array_equal(draw_theta(steady, 3, seed=2), eight[:3])
    np.testing.assert_array_equal(draw_theta(steady, 5, seed=2, start=3), eight[3:])
    assert not np.array_equal(draw_theta(steady, 8, seed=3), eight)


def test_draws_follow_the_known_population(steady):
    """The oracle's pack: loops' knobs ~ Normal(mid-range, sd² = spread² + loc_sd²)."""
    theta = draw_theta(steady, 1500, seed=0)
    loc, spread = STEADY
    sd = np.sqrt(spread**2 + (0.02 * WIDTH) ** 2)
    assert np.all(np.abs(theta.mean(axis=0) - loc) < 4 * sd / np.sqrt(1500))
    np.testing.assert_allclose(theta.std(axis=0), sd, rtol=0.08)
    assert np.all(np.abs(steady.center() - loc) < 0.006 * WIDTH)  # 300 draws, sd 2%
    assert np.all((theta >= BOUNDS[:, 0]) & (theta <= BOUNDS[:, 1]))


def test_the_corpus_group_draws_both_packs_in_proportion(fit_dir):
    from technorhythm.generation import load_pack

    corpus = load_pack(fit_dir, "all")
    theta = draw_theta(corpus, 800, seed=1)
    # the packs lie 30% of each range apart: classify every loop by its nearest pack centre
    near_edge = np.abs((theta - EDGE[0]) / WIDTH).mean(axis=1) < np.abs(
        (theta - STEADY[0]) / WIDTH
    ).mean(axis=1)
    share = SIZES["edge"] / (SIZES["edge"] + SIZES["steady"])
    assert abs(near_edge.mean() - share) < 4 * np.sqrt(share * (1 - share) / 800)
    expected = share * EDGE[0] + (1 - share) * STEADY[0]
    assert np.all(np.abs(predictive_mean(corpus.model) - expected) < 0.006 * WIDTH)


def test_spread_scales_deviations_from_the_mean(steady):
    theta = draw_theta(steady, 400, seed=4)
    center = steady.center()
    assert np.array_equal(draw_theta(steady, 400, seed=4, spread=1.0), theta)
    zero = draw_theta(steady, 5, seed=4, spread=0.0)
    np.testing.assert_allclose(zero, np.broadcast_to(center, zero.shape))
    half = draw_theta(steady, 400, seed=4, spread=0.5)
    np.testing.assert_allclose(half - center, 0.5 * (theta - center), atol=1e-12)
    wide = draw_theta(steady, 400, seed=4, spread=3.0)
    assert np.all((wide >= BOUNDS[:, 0]) & (wide <= BOUNDS[:, 1]))
    sd = [draw_theta(steady, 400, seed=4, spread=s).std(axis=0) for s in (0, 0.5, 1, 2, 3)]
    assert all(np.all(a <= b + 1e-12) for a, b in zip(sd, sd[1:], strict=False))
    assert np.all(sd[3] > 1.5 * sd[2])  # wider, until the range clips it


def test_spread_keeps_knobs_on_their_bounds():
    center = np.array([k.low for k in KNOBS])
    theta = np.tile(center, (3, 1))
    np.testing.assert_array_equal(apply_spread(theta, center, 4.0, BOUNDS), theta)


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "wide"])
def test_bad_spreads_are_refused(bad):
    with pytest.raises(ValueError, match="spread must be"):
        check_spread(bad)


def test_hold_knobs_sets_columns_and_checks_them():
    theta = np.zeros((2, len(KNOBS))) + BOUNDS[:, 0]
    name = KNOB_NAMES[-1]
    held = hold_knobs(theta, {name: KNOBS[-1].high})
    assert np.all(held[:, -1] == KNOBS[-1].high) and np.array_equal(held[:, :-1], theta[:, :-1])
    with pytest.raises(KnobError, match="Unknown knob"):
        hold_knobs(theta, {"cowbell": 1.0})
    with pytest.raises(KnobError, match="must be in"):
        hold_knobs(theta, {name: KNOBS[-1].high + 1})


def test_knobs_from_the_pack_s_own_loops(fit_dir, steady):
    from technorhythm.generation import load_pack

    draws = steady.loop_draws()
    assert draws.shape == (300, SIZES["steady"], len(KNOB_NAMES))
    theta = draw_theta(steady, 40, seed=4, knobs="loops")
    # each loop is one posterior draw of one of the pack's loops, every knob from that draw
    flat = draws.reshape(-1, draws.shape[-1])
    hits = [np.flatnonzero((flat == t).all(axis=1)) for t in theta]
    assert all(len(h) >= 1 for h in hits)
    loops_used = {int(h[0]) % draws.shape[1] for h in hits}
    assert len(loops_used) > 10  # loops drawn at random, not one loop again and again
    np.testing.assert_array_equal(draw_theta(steady, 10, seed=4, knobs="loops"), theta[:10])
    assert not np.array_equal(draw_theta(steady, 40, seed=4), theta)  # population differs
    corpus = load_pack(fit_dir, "all").loop_draws()
    # stored as float32, a knob on its bound comes back outside it unless clipped
    assert np.any(np.isin(corpus, BOUNDS)) and np.all(
        (corpus >= BOUNDS[:, 0]) & (corpus <= BOUNDS[:, 1])
    )
    edge = load_pack(fit_dir, "edge").loop_draws()  # ingest may reject a near-empty loop
    assert corpus.shape[1] == draws.shape[1] + edge.shape[1]  # the corpus: every loop
    with pytest.raises(ValueError, match="knobs must be one of population, loops"):
        draw_theta(steady, 2, seed=0, knobs="pack")


def test_a_fit_without_loop_draws_says_so(dataset_dir, tmp_path):
    from population_oracle import PopulationOracle

    from technorhythm.generation import load_pack
    from technorhythm.posteriors import fit_groups, save_fit

    oracle = PopulationOracle([EDGE, STEADY])
    result = fit_groups(
        dataset_dir,
        estimator=oracle,
        by="pack",
        loops=False,
        n_samples=50,
        velocities="network",
        timing="network",
    )
    save_fit(result, tmp_path / "fit", dataset=str(dataset_dir), forest=False)
    pack = load_pack(tmp_path / "fit", "steady")
    draw_theta(pack, 2, seed=0)  # the population needs no loop draws
    with pytest.raises(ValueError, match="no per-loop draws.*--no-loops"):
        draw_theta(pack, 2, seed=0, knobs="loops")


def test_loop_draws_on_a_bound_stay_inside_it(fit_dir, tmp_path):
    """Per-loop draws are stored as float32, whose rounding can put a draw at a bound just
    outside it (0.45, swing_16's top, is 0.44999999 in float32, the next float32 0.45000002),
    which the simulator refuses; the loops' knobs are clipped to the range."""
    import shutil

    import xarray as xr

    from technorhythm.generation import generate_from_pack, load_pack

    copy = tmp_path / "fit"
    shutil.copytree(fit_dir, copy)
    with xr.open_dataset(copy / "posterior.nc", group="posterior") as post:
        post = post.load()
    top = KNOBS[KNOB_NAMES.index("swing_16")].high
    post["swing_16"][:] = np.nextafter(np.float32(top), np.float32(1.0))
    assert float(post["swing_16"].values.max()) > top  # what the file gives back
    post.to_netcdf(copy / "posterior.nc", group="posterior", mode="a")
    pack = load_pack(copy, "steady")
    assert pack.loop_draws()[..., KNOB_NAMES.index("swing_16")].max() == top
    gen = generate_from_pack(pack, 2, seed=0, bpm=120.0, knobs="loops")
    assert (gen.theta[:, KNOB_NAMES.index("swing_16")] == top).all()


def test_generated_loops_play_the_velocity_designs_of_the_pack_s_loops(dataset_dir, tmp_path):
    """A fit that reads the velocity knobs from the hits keeps each loop's reads; loops
    generated from it (and the checks, which use the same model) take the six velocity
    knobs of one real loop together."""
    from population_oracle import PopulationOracle

    from technorhythm.generation import load_pack, load_packs
    from technorhythm.inference.velocity_block import VELOCITY_KNOBS
    from technorhythm.posteriors import fit_groups, save_fit

    oracle = PopulationOracle([EDGE, STEADY, STEADY])
    result = fit_groups(dataset_dir, estimator=oracle, by="pack", add_all=True, n_samples=50)
    save_fit(result, tmp_path / "fit", dataset=str(dataset_dir), forest=False)
    pack = load_pack(tmp_path / "fit", "steady")
    reads = pack.model.reads
    np.testing.assert_allclose(reads, result.groups[1].reads, equal_nan=True)
    read = np.isfinite(reads)
    np.testing.assert_allclose(pack.model.read_se[read], result.groups[1].read_se[read])
    cols = [KNOB_NAMES.index(k) for k in VELOCITY_KNOBS]
    theta = draw_theta(pack, 60, seed=1)
    # the generated kick levels are the pack's loops' reads (each pooled with the pack's
    # population within its standard error), not a normal around their mean: every one is
    # within 4 standard errors of some loop's read
    kick = KNOB_NAMES.index("kick_velocity")
    shown = np.isfinite(reads[:, kick])
    z = np.abs(theta[:, kick][:, None] - reads[shown, kick][None]) / (
        pack.model.read_se[shown, kick][None] + 1e-9
    )
    assert (z.min(axis=1) < 4).mean() > 0.95
    assert len(np.unique(np.round(theta[:, cols[0]], 3))) > 10  # from many of the loops
    corpus = load_packs(tmp_path / "fit")["all"].model  # the corpus: its packs' own reads
    np.testing.assert_allclose(corpus.packs[1].reads, reads, equal_nan=True)
