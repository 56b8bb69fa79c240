"""The vectorised engine equals the straightforward per-clip reference (benchmarks/)."""

import importlib.util
from pathlib import Path

import numpy as np

from technorhythm.simulator.engine import simulate
from technorhythm.simulator.knobs import KNOB_NAMES

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "reference_simulator.py"


def _reference():
    spec = importlib.util.spec_from_file_location("reference_simulator", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_engine_matches_reference_clip_by_clip(rng, prior_thetas):
    ref = _reference()
    theta = prior_thetas(rng, 60, kick_min=0.0)
    bpm = rng.uniform(80, 180, 60)
    batch = simulate(theta, seed=77, start_index=500, bpm=bpm)
    for i in range(60):
        named = dict(zip(KNOB_NAMES, theta[i].tolist(), strict=True))
        velocity, offset = ref.simulate_clip(named, 77, 500 + i, bpm[i])
        assert np.array_equal(batch.velocity[i], np.array(velocity, dtype=np.uint8)), i
        np.testing.assert_allclose(batch.offset[i], np.array(offset), atol=2e-6)
