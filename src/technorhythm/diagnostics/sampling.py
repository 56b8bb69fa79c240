"""Posterior samplers as the diagnostics see them, and the bridge to sbi's diagnostics.

A *sampler* is anything with ``sample_batched(x, n, *, seed) -> ndarray (n, M, K)``:
``n`` posterior draws in knob units for each of ``M`` observations ``x`` (M, D).
:class:`technorhythm.inference.PosteriorEstimator` is one; the unit tests use toy
posteriors with a closed form. sbi's ``run_sbc`` / ``run_tarp`` want an sbi posterior;
:class:`SbiPosteriorView` gives them one, drawing from our sampler with an explicit seed.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

__all__ = [
    "PosteriorSampler",
    "PrecomputedSamples",
    "SbiPosteriorView",
    "check_pairs",
    "draw_posterior_samples",
]


@runtime_checkable
class PosteriorSampler(Protocol):
    """What the diagnostics need from a posterior."""

    def sample_batched(self, x_obs: np.ndarray, n: int, *, seed: int) -> np.ndarray:
        """``n`` draws for each row of ``x_obs`` (M, D) → array (n, M, K), knob units."""
        ...


def check_pairs(theta: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate ground-truth ``theta`` (M, K) and observations ``x`` (M, D) as float64."""
    theta = np.asarray(theta, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if theta.ndim != 2 or x.ndim != 2 or theta.shape[0] != x.shape[0]:
        raise ValueError(
            f"theta must be (M, K) and x (M, D) with the same M; got {theta.shape} and {x.shape}"
        )
    if theta.shape[0] < 2:
        raise ValueError(f"need at least 2 (theta, x) pairs; got {theta.shape[0]}")
    if not (np.all(np.isfinite(theta)) and np.all(np.isfinite(x))):
        raise ValueError("theta and x must be finite")
    return theta, x


def draw_posterior_samples(
    posterior: PosteriorSampler,
    x: np.ndarray,
    n: int,
    *,
    seed: int,
    chunk: int = 256,
) -> np.ndarray:
    """``n`` posterior draws for every row of ``x`` (M, D) → (n, M, K), in chunks of rows.

    Chunk ``c`` is drawn with seed ``seed + c``, so results do not depend on memory limits
    other than ``chunk``.
    """
    if not isinstance(posterior, PosteriorSampler):
        raise TypeError(
            f"{type(posterior).__name__} has no sample_batched(x, n, *, seed) method; "
            "pass a trained technorhythm.inference.PosteriorEstimator"
        )
    x = np.asarray(x, dtype=np.float64)
    if n < 1:
        raise ValueError(f"n (posterior draws per observation) must be >= 1; got {n}")
    parts = []
    for c, start in enumerate(range(0, x.shape[0], chunk)):
        part = np.asarray(posterior.sample_batched(x[start : start + chunk], n, seed=seed + c))
        if part.ndim != 3 or part.shape[:2] != (n, min(chunk, x.shape[0] - start)):
            raise ValueError(f"sample_batched returned shape {part.shape}; expected (n, M, K)")
        parts.append(part)
    return np.concatenate(parts, axis=1)


class SbiPosteriorView:
    """Duck-typed sbi posterior over a :class:`PosteriorSampler`, for sbi's run_sbc/run_tarp.

    sbi only calls ``sample_batched(sample_shape, x=..., show_progress_bars=...)``; this
    answers with draws from ``sampler`` seeded by ``seed`` (global torch state untouched).
    """

    def __init__(self, sampler: PosteriorSampler, *, seed: int) -> None:
        self.sampler = sampler
        self.seed = seed

    def sample_batched(self, sample_shape, x, show_progress_bars: bool = False, **_: object):
        import torch

        (n,) = tuple(sample_shape)
        draws = draw_posterior_samples(self.sampler, x.numpy(), int(n), seed=self.seed)
        return torch.as_tensor(draws, dtype=torch.float32)


class PrecomputedSamples:
    """A sampler that answers with draws made earlier, so one draw serves every diagnostic.

    Sampling a flow is the expensive part of validation; recovery, SBC and TARP of the
    same simulated sets can share one ``(n, M, K)`` draw. ``sample_batched`` returns the
    first ``n`` stored draws for the stored rows of ``x`` (in any order, any subset) and
    refuses observations it has no draws for.
    """

    def __init__(self, x: np.ndarray, draws: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float64)
        draws = np.asarray(draws)
        if draws.ndim != 3 or draws.shape[1] != x.shape[0]:
            raise ValueError(f"draws must be (n, M={x.shape[0]}, K); got {draws.shape}")
        self.x = x
        self.draws = draws
        self._index = {row.astype(np.float32).tobytes(): i for i, row in enumerate(x)}

    @classmethod
    def from_sampler(
        cls, posterior: PosteriorSampler, x: np.ndarray, n: int, *, seed: int
    ) -> PrecomputedSamples:
        """Draw ``n`` samples for every row of ``x`` once from ``posterior``."""
        return cls(x, draw_posterior_samples(posterior, x, n, seed=seed))

    def sample_batched(self, x_obs: np.ndarray, n: int, *, seed: int) -> np.ndarray:
        if n > self.draws.shape[0]:
            raise ValueError(f"only {self.draws.shape[0]} draws stored; {n} requested")
        rows = []
        for row in np.asarray(x_obs, dtype=np.float64):
            key = row.astype(np.float32).tobytes()
            if key not in self._index:
                raise KeyError("no stored draws for this observation")
            rows.append(self._index[key])
        return self.draws[:n, rows]
