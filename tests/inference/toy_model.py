"""A toy simulator with a closed-form posterior.

Toy model (2 parameters, box prior [-6, 6]²): a set of N draws
``y_i ~ Normal(θ, I)``; the observation is ``x = (ȳ_1, ȳ_2, log2(N) / 10)``, the same
"summary + transformed N" layout as the real pipeline. Because ȳ is sufficient, the exact
posterior is ``Normal(ȳ, I / N)`` truncated to the box — essentially untruncated for ȳ well
inside it.
"""

from __future__ import annotations

import numpy as np

TOY_BOUNDS = np.array([[-6.0, 6.0], [-6.0, 6.0]])
TOY_NAMES = ("mu_a", "mu_b")


def toy_simulate(theta: np.ndarray, n: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """x (M, 3) for θ (M, 2) and set sizes n (M,): sample means of n unit-variance draws."""
    n = np.asarray(n, dtype=np.float64)
    ybar = theta + rng.standard_normal(theta.shape) / np.sqrt(n)[:, None]
    return np.column_stack([ybar, np.log2(n) / 10.0])


def toy_training_set(m: int, seed: int, n_max: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    theta = TOY_BOUNDS[:, 0] + rng.random((m, 2)) * (TOY_BOUNDS[:, 1] - TOY_BOUNDS[:, 0])
    n = np.floor(2.0 ** rng.uniform(0, np.log2(n_max + 1), size=m)).astype(int)
    return theta, toy_simulate(theta, n, rng)


def toy_exact_posterior(ybar: np.ndarray, n: int, size: int, rng: np.random.Generator):
    """Exact posterior samples Normal(ȳ, I/n) truncated to the box (by rejection)."""
    out = np.empty((0, 2))
    while len(out) < size:
        draw = ybar + rng.standard_normal((2 * size, 2)) / np.sqrt(n)
        keep = np.all((draw >= TOY_BOUNDS[:, 0]) & (draw <= TOY_BOUNDS[:, 1]), axis=1)
        out = np.concatenate([out, draw[keep]])
    return out[:size]
