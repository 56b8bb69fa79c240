"""An estimator with a known answer, for testing everything after the estimator.

``OracleEstimator(theta0, width=0.02)`` ignores x and returns draws from Normal(θ0,
(width × each knob's range)²) clipped to the bounds: the posterior of an oracle that knows
the truth. With it, fitting clips simulated at θ0 must not be flagged as misspecified, and
clips simulated elsewhere must be. It implements the part of PosteriorEstimator that fitting uses.
"""

from __future__ import annotations

import numpy as np

from technorhythm.simulator.knobs import KNOB_NAMES, KNOBS


class OracleEstimator:
    theta_names = KNOB_NAMES

    def __init__(self, theta0: np.ndarray, n_max: int = 64, width: float = 0.02) -> None:
        self.theta0 = np.asarray(theta0, dtype=float)
        self.width = float(width)
        self.theta_bounds = np.array([[k.low, k.high] for k in KNOBS])
        self.data_reference_ = {"n_range": [1, n_max]}
        self.n_simulations_ = 0
        self.calls: list[np.ndarray] = []

    def sample(self, x_obs: np.ndarray, n: int, *, seed: int) -> np.ndarray:
        """(n, K) draws for one x_obs (D,), like PosteriorEstimator.sample."""
        return self.sample_batched(np.asarray(x_obs)[None], n, seed=seed)[:, 0]

    def sample_batched(self, x_obs: np.ndarray, n: int, *, seed: int) -> np.ndarray:
        """(n, M, K) draws for x_obs (M, D), like PosteriorEstimator.sample_batched."""
        x_obs = np.asarray(x_obs)
        self.calls.extend(x_obs)
        lo, hi = self.theta_bounds.T
        z = np.random.default_rng(seed).standard_normal((n, x_obs.shape[0], len(lo)))
        return np.clip(self.theta0 + self.width * (hi - lo) * z, lo, hi)
