"""The engine's fast path equals the readable reference of the rules, clip by clip."""

import numpy as np
import pytest

from technorhythm.simulator.engine import simulate
from technorhythm.simulator.knobs import KNOB_NAMES, KNOBS
from technorhythm.simulator.reference import simulate_clip


def _assert_same(batch, theta, seed, start, bpm):
    for i in range(len(batch)):
        named = dict(zip(KNOB_NAMES, theta[i].tolist(), strict=True))
        velocity, offset = simulate_clip(named, seed, start + i, bpm[i])
        assert np.array_equal(batch.velocity[i], velocity), i
        # bit for bit, the same float32 arithmetic
        assert np.array_equal(batch.offset[i].view(np.uint32), offset.view(np.uint32)), i


def test_engine_matches_reference_over_the_prior(rng, prior_thetas):
    theta = prior_thetas(rng, 150, kick_min=0.0)
    bpm = rng.uniform(60, 200, 150)
    batch = simulate(theta, seed=77, start_index=500, bpm=bpm)
    _assert_same(batch, theta, 77, 500, bpm)


@pytest.mark.parametrize("end", ["low", "high"])
def test_engine_matches_reference_at_the_bounds(rng, prior_thetas, end):
    """Every knob in turn at one of its bounds (where thresholds and clipping bite)."""
    theta = prior_thetas(rng, len(KNOBS), kick_min=0.0)
    for k, knob in enumerate(KNOBS):
        theta[k, k] = knob.low if end == "low" else knob.high
    bpm = np.full(len(theta), 128.0)
    _assert_same(simulate(theta, seed=5, bpm=bpm), theta, 5, 0, bpm)


def test_one_theta_for_the_batch_matches_the_reference():
    theta = np.array([k.default for k in KNOBS])
    batch = simulate(theta, 40, seed=3, bpm=100.0)
    _assert_same(batch, np.tile(theta, (40, 1)), 3, 0, np.full(40, 100.0))
