"""A population estimator whose posterior is known, for testing the report.

``KnownEstimator`` ignores the observations. Its hyperparameter draws are, per knob:

* the first :data:`N_PINNED` knobs: location Normal(midpoint, (1% of the range)²) —
  *identified*;
* the next two knobs (:data:`TRADE_OFF`): locations that move together, loc_a = mid + t·w_a
  and loc_b = mid − t·w_b with t ~ Normal(0, 0.2²) shared and 1% independent noise — a
  trade-off the report must list as a merge candidate;
* every other knob: location uniform over its hyperprior box — *prior-dominated*;

with spreads of 1% of the range. Per-loop draws are the location plus 1% noise, clipped.
It carries a ``manifest_`` so that a model folder holding the same manifest is recognised
as the fit's model.
"""

from __future__ import annotations

import numpy as np

from technorhythm.inference.population import Population
from technorhythm.inference.set_summaries import set_feature_names

N_PINNED = 5
TRADE_OFF = (N_PINNED, N_PINNED + 1)
MANIFEST = {"format": "technorhythm-test-estimator", "n_sets": 0, "created_utc": "test"}


class KnownEstimator:
    population = Population.from_registry()
    theta_names = population.names
    theta_bounds = population.bounds
    hyper_names = population.hyper_names

    def __init__(self) -> None:
        self.data_reference_ = {"n_range": [1, 1024]}
        self.n_sets_ = 0
        self.x_dim_ = len(set_feature_names())
        self.manifest_ = dict(MANIFEST)

    @property
    def _width(self) -> np.ndarray:
        return self.theta_bounds[:, 1] - self.theta_bounds[:, 0]

    def sample_hyper(self, x_obs: np.ndarray, n: int, *, seed: int) -> np.ndarray:
        x_obs = np.atleast_2d(np.asarray(x_obs))
        rng = np.random.default_rng(seed)
        g, k = x_obs.shape[0], len(self._width)
        box = self.population.hyper_bounds
        mid = self.theta_bounds.mean(axis=1)
        loc = box[:k, 0] + rng.random((n, g, k)) * (box[:k, 1] - box[:k, 0])
        loc[..., :N_PINNED] = mid[:N_PINNED] + 0.01 * self._width[:N_PINNED] * rng.standard_normal(
            (n, g, N_PINNED)
        )
        t = 0.2 * rng.standard_normal((n, g))
        a, b = TRADE_OFF
        noise = 0.01 * rng.standard_normal((n, g, 2))
        loc[..., a] = mid[a] + (t + noise[..., 0]) * self._width[a]
        loc[..., b] = mid[b] - (t + noise[..., 1]) * self._width[b]
        spread = np.broadcast_to(0.01 * self._width, loc.shape)
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
        s, b = len(psi), len(x_loop)
        k = len(self._width)
        z = np.random.default_rng(seed).standard_normal((s, b, k))
        loc = psi[:, None, :k]
        return self.population.clip(loc + 0.01 * self._width * z)
