"""The prior over the knobs, read from the knob registry.

Every knob is uniform over its declared ``[low, high]`` (knob units); the
joint prior is the product, an :class:`sbi.utils.BoxUniform`. Training may
happen in an unconstrained (logit) space — see
:class:`technorhythm.inference.PosteriorEstimator` — but θ always enters and
leaves this package in knob units and inside these bounds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from technorhythm.simulator.knobs import KNOB_NAMES, KNOBS

__all__ = ["knob_bounds", "prior", "box_prior", "sample_prior", "check_bounds"]


def knob_bounds() -> np.ndarray:
    """Bounds of every knob in registry order, shape (K, 2): columns low, high (knob units)."""
    return np.array([[k.low, k.high] for k in KNOBS], dtype=np.float64)


def check_bounds(bounds: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Validate a (K, 2) array of finite ``low < high`` rows; return it as float64."""
    arr = np.asarray(bounds, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 1:
        raise ValueError(f"bounds must have shape (K, 2) with K >= 1; got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("bounds must be finite (a uniform prior needs a bounded box)")
    bad = np.flatnonzero(arr[:, 0] >= arr[:, 1])
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"bounds row {i}: low {arr[i, 0]} must be below high {arr[i, 1]}")
    return arr


def box_prior(bounds: Sequence[Sequence[float]] | np.ndarray):
    """A :class:`sbi.utils.BoxUniform` (float32 torch distribution) over ``bounds`` (K, 2)."""
    import torch
    from sbi.utils import BoxUniform

    arr = check_bounds(bounds)
    return BoxUniform(
        low=torch.as_tensor(arr[:, 0], dtype=torch.float32),
        high=torch.as_tensor(arr[:, 1], dtype=torch.float32),
    )


def prior():
    """The knob prior: independent uniforms over the registry bounds, in knob units.

    Returns
    -------
    sbi.utils.BoxUniform
        ``event_shape == (K,)`` with K = ``len(KNOB_NAMES)``, knobs in registry order.
    """
    return box_prior(knob_bounds())


def sample_prior(
    n: int,
    rng: np.random.Generator,
    bounds: Sequence[Sequence[float]] | np.ndarray | None = None,
) -> np.ndarray:
    """Draw ``n`` θ from the uniform prior with a numpy Generator (no torch global state).

    Returns
    -------
    ndarray, shape (n, K), float64
        Knob units, each column inside its bounds; registry order when ``bounds`` is None.
    """
    arr = knob_bounds() if bounds is None else check_bounds(bounds)
    if n < 0:
        raise ValueError(f"n must be >= 0; got {n}")
    u = rng.random((n, arr.shape[0]))
    return arr[:, 0] + u * (arr[:, 1] - arr[:, 0])


# The order of θ columns everywhere in this package.
THETA_NAMES: tuple[str, ...] = KNOB_NAMES
