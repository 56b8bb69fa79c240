"""Knob settings for the velocity block's tests."""

from __future__ import annotations

import numpy as np

from technorhythm.inference.prior import knob_bounds
from technorhythm.inference.velocity_block import VELOCITY_KNOBS
from technorhythm.simulator.knobs import KNOB_NAMES

COLS = [KNOB_NAMES.index(k) for k in VELOCITY_KNOBS]


def prior_theta(n: int, rng: np.random.Generator) -> np.ndarray:
    b = knob_bounds()
    return b[:, 0] + rng.random((n, len(b))) * (b[:, 1] - b[:, 0])


def unclipped(theta: np.ndarray) -> np.ndarray:
    """θ whose hits never reach velocity 1 or 127: levels 40–110, accents ≤ 0.6."""
    t = theta.copy()
    t[:, COLS[:4]] = 40 + (t[:, COLS[:4]] - 10) / 117 * 70
    t[:, COLS[4:7]] *= 0.6
    return t
