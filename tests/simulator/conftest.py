"""Fixtures of the simulator tests."""

from __future__ import annotations

import numpy as np
import pytest

from technorhythm.simulator.knobs import KNOB_NAMES, KNOBS

LOW = np.array([k.low for k in KNOBS])
HIGH = np.array([k.high for k in KNOBS])
KICK_DENSITY = KNOB_NAMES.index("kick_density")


def _prior_thetas(rng: np.random.Generator, m: int, *, kick_min: float = 1.0) -> np.ndarray:
    theta = LOW + rng.random((m, len(KNOBS))) * (HIGH - LOW)
    span = HIGH[KICK_DENSITY] - kick_min
    theta[:, KICK_DENSITY] = kick_min + rng.random(m) * span
    return theta


@pytest.fixture
def prior_thetas():
    """``f(rng, m, kick_min=1.0)``: ``m`` θ rows uniform over the registry bounds.

    ``kick_density >= kick_min`` (default 1) keeps a kick on every bar downbeat, so
    canonical rotation is 0 and clips of different θ stay aligned step by step.
    """
    return _prior_thetas
