"""Fixtures of the simulator tests."""

from __future__ import annotations

import numpy as np
import pytest

from technorhythm.simulator.knobs import KNOB_NAMES, KNOBS

LOW = np.array([k.low for k in KNOBS])
HIGH = np.array([k.high for k in KNOBS])
KICK_PULSES = KNOB_NAMES.index("kick_pulses")
KICK_VELOCITY = KNOB_NAMES.index("kick_velocity")
KICK_JITTER = KNOB_NAMES.index("kick_jitter")


def _prior_thetas(rng: np.random.Generator, m: int, *, kick_min: float = 1.0) -> np.ndarray:
    theta = LOW + rng.random((m, len(KNOBS))) * (HIGH - LOW)
    span = HIGH[KICK_PULSES] - kick_min
    theta[:, KICK_PULSES] = kick_min + rng.random(m) * span
    if kick_min >= 1.0:
        theta[:, KICK_VELOCITY] = 70.0 + 57.0 * rng.random(m)
        theta[:, KICK_JITTER] = 5.0 * rng.random(m)
    return theta


@pytest.fixture
def prior_thetas():
    """``f(rng, m, kick_min=1.0)``: ``m`` θ rows uniform over the registry bounds.

    ``kick_pulses >= kick_min`` (default 1) puts an accented kick on every bar downbeat;
    with ``kick_min >= 1`` the rows also keep ``kick_velocity >= 70`` and
    ``kick_jitter <= 5``, so that downbeat stays the clip's strong kick, canonical
    rotation is 0 and clips of different θ stay aligned step by step.
    """
    return _prior_thetas
