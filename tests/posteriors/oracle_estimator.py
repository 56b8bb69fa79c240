"""A population estimator with a known answer, for testing everything after the estimator.

``OracleEstimator(theta0, width=0.02)`` ignores the observations. Its hyperparameter draws
are locations Normal(θ0, (width × each knob's range)²) with spreads of width/2 of the range
(clipped to the hyperprior box); its per-loop draws are θ0 plus width/2 noise, clipped to
the knob range: the posterior of an oracle that knows every loop sits at θ0. With it, fitting clips
simulated at θ0 must not be flagged as misspecified, and clips simulated elsewhere must be.
It implements the part of PopulationEstimator that fitting uses.
"""

from __future__ import annotations

import numpy as np

from technorhythm.inference.population import Population
from technorhythm.inference.set_summaries import set_feature_names


class OracleEstimator:
    population = Population.from_registry()
    theta_names = population.names
    theta_bounds = population.bounds
    hyper_names = population.hyper_names

    def __init__(self, theta0: np.ndarray, n_max: int = 64, width: float = 0.02) -> None:
        self.theta0 = np.asarray(theta0, dtype=float)
        self.width = float(width)
        self.data_reference_ = {"n_range": [1, n_max]}
        self.n_sets_ = 0
        self.x_dim_ = len(set_feature_names())
        self.calls: list[np.ndarray] = []

    @property
    def _width(self) -> np.ndarray:
        return self.theta_bounds[:, 1] - self.theta_bounds[:, 0]

    def sample_hyper(self, x_obs: np.ndarray, n: int, *, seed: int) -> np.ndarray:
        """(n, G, 2K) draws for x_obs (G, D), like PopulationEstimator.sample_hyper."""
        x_obs = np.atleast_2d(np.asarray(x_obs))
        self.calls.extend(x_obs)
        z = np.random.default_rng(seed).standard_normal((n, x_obs.shape[0], len(self._width)))
        loc = self.theta0 + self.width * self._width * z
        spread = np.broadcast_to(self.width / 2 * self._width, loc.shape)
        box = self.population.hyper_bounds
        return np.clip(np.concatenate([loc, spread], axis=-1), box[:, 0], box[:, 1])

    def sample_loops(
        self,
        x_loop: np.ndarray,
        psi: np.ndarray,
        *,
        seed: int,
        threads: int | None = None,
        columns: np.ndarray | None = None,
    ) -> np.ndarray:
        """(S, B, K) per-loop draws, like PopulationEstimator.sample_loops (every
        column, whatever ``columns`` asks for)."""
        self.loop_threads = threads
        self.loop_columns = columns
        s, b = len(psi), len(x_loop)
        z = np.random.default_rng(seed).standard_normal((s, b, len(self._width)))
        return self.population.clip(self.theta0 + self.width / 2 * self._width * z)
