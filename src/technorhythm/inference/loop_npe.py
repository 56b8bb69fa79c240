"""The one-loop posterior q(θ | one loop) under the uniform knob prior (the per-loop route).

Training pairs are single clips: θ from the uniform prior, one clip simulated, its
per-loop features (:func:`technorhythm.inference.set_summaries.loop_features`). The flow
(:class:`~technorhythm.inference.flows.ConditionalFlow`) is trained on logit(θ) through
the prior box, so its draws can come as close to a bound as the data allow. The draws feed
the hierarchical PyMC model of :mod:`technorhythm.posteriors.hierarchical_pymc`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from technorhythm.inference.flows import BoxLogit, ConditionalFlow
from technorhythm.inference.prior import knob_bounds, sample_prior

__all__ = ["LoopNPE", "simulate_single_loops"]


def simulate_single_loops(
    n: int, *, seed: int, start_index: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """θ (n, K) from the uniform prior and the per-loop features (n, F) of one clip each."""
    from technorhythm.inference.set_summaries import loop_features
    from technorhythm.simulator import simulate

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(7,)))
    theta = sample_prior(int(n), rng)
    batch = simulate(theta, seed=int(seed), start_index=int(start_index))
    return theta, loop_features(batch)


class LoopNPE:
    """q(θ | loop features) in knob units (module docstring).

    ``flow``: :class:`ConditionalFlow` options; ``seed`` seeds it.
    """

    def __init__(self, *, flow: Mapping[str, Any] | None = None, seed: int = 0) -> None:
        self.flow = flow
        self.seed = seed

    def fit(self, theta: np.ndarray, features: np.ndarray) -> LoopNPE:
        """Train on θ (n, K) in knob units and loop features (n, F)."""
        self.box_ = BoxLogit(knob_bounds())
        params = {**dict(self.flow or {}), "seed": int(self.seed)}
        self.flow_ = ConditionalFlow(**params).fit(self.box_.forward(theta), features)
        return self

    def sample(self, features: np.ndarray, n: int, *, seed: int) -> np.ndarray:
        """``n`` draws of θ for each loop (B, F) → (B, n, K), knob units."""
        t = self.flow_.sample(features, n, seed=seed)  # (n, B, K)
        return np.moveaxis(self.box_.inverse(t), 0, 1)
