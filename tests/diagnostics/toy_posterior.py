"""A toy problem with a closed-form posterior for the diagnostics tests.

θ ~ Normal(0, I₃); a set of N clips gives ``ȳ ~ Normal(θ, I/N)``; the observation is
``x = (ȳ, log2(N) / 10)``. The exact posterior is Normal(N ȳ / (N + 1), I / (N + 1)).
``ToyPosterior(scale=s, shift=d)`` samples Normal(mean + d, s² · var): s = 1, d = 0 is
exact; s < 1 is overconfident, s > 1 underconfident, d ≠ 0 biased.
"""

from __future__ import annotations

import numpy as np

TOY_NAMES = ("a", "b", "c")


def toy_sets(m: int, n_clips: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """M prior draws θ (M, 3) and their observations x (M, 4) for sets of n_clips."""
    rng = np.random.default_rng(seed)
    theta = rng.standard_normal((m, 3))
    ybar = theta + rng.standard_normal((m, 3)) / np.sqrt(n_clips)
    return theta, np.column_stack([ybar, np.full(m, np.log2(n_clips) / 10)])


class ToyPosterior:
    """Closed-form posterior of the toy problem, optionally mis-scaled or shifted."""

    theta_names = TOY_NAMES

    def __init__(self, scale: float = 1.0, shift: float = 0.0) -> None:
        self.scale = scale
        self.shift = shift

    def moments(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = 2.0 ** (10 * x[:, 3])
        mean = (n / (n + 1))[:, None] * x[:, :3] + self.shift
        sd = self.scale / np.sqrt(n + 1)
        return mean, np.broadcast_to(sd[:, None], mean.shape)

    def sample_batched(self, x_obs: np.ndarray, n: int, *, seed: int) -> np.ndarray:
        mean, sd = self.moments(np.asarray(x_obs, dtype=float))
        z = np.random.default_rng(seed).standard_normal((n, *mean.shape))
        return mean + sd * z
