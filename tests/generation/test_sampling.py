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
