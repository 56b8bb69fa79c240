"""The per-loop route to the population posterior: one-loop NPE draws combined in PyMC.

Route 2 of docs/inference.md, kept as the measured alternative to the amortised pack
network. Every loop i gets S draws θ_is from a one-loop posterior q(θ | loop i) trained
under the uniform knob prior π. The likelihood of the population's hyperparameters ψ is
then estimated as in population studies of gravitational-wave catalogues (Thrane & Talbot
2019, section on hierarchical models):

    L(ψ) ∝ Π_i (1/S) Σ_s p(θ_is | ψ) / π(θ_is)

which PyMC evaluates as a ``pm.Potential`` with a log-sum-exp over the draws; NUTS samples
ψ. π is uniform, so it drops out.

The censored normal puts point masses on the bounds, which continuous draws never hit.
The population density used here is its δ-smoothed version: the mass below ``low + δ``
(and above ``high − δ``) is spread evenly over that band of width δ (a fraction
``delta`` of the range), the interior keeps the normal density. It is a proper density on
the box and tends to the censored normal as δ → 0.

Per-loop effective sample size: with weights w_is = p(θ_is | ψ̂) at the posterior mean ψ̂,
``ESS_i = (Σ_s w_is)² / Σ_s w_is²``. When the population is much narrower than the
per-loop posteriors, few draws carry the weight and the estimate of L(ψ) is noisy;
:func:`per_loop_ess` reports it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

__all__ = ["HierarchicalFit", "fit_hierarchical", "smoothed_logpdf", "per_loop_ess"]


def smoothed_logpdf(theta: np.ndarray, loc, spread, bounds: np.ndarray, delta: float):
    """log density of the δ-smoothed censored normal at θ (..., K), per knob (..., K).

    Works on numpy arrays and on PyTensor tensors (``loc``/``spread`` of shape (K,)).
    """
    import pytensor.tensor as pt

    lib = pt if not isinstance(loc, np.ndarray) else np
    low, high = bounds[:, 0], bounds[:, 1]
    band = delta * (high - low)
    z = (theta - loc) / spread
    interior = -0.5 * z**2 - lib.log(spread) - 0.5 * np.log(2 * np.pi)

    def log_ncdf(t):
        if lib is np:
            from scipy.special import log_ndtr

            return log_ndtr(t)
        return pt.log(0.5 * pt.erfc(-t / np.sqrt(2.0)) + 1e-300)

    lower = log_ncdf((low + band - loc) / spread) - np.log(band)
    upper = log_ncdf((loc - high + band) / spread) - np.log(band)
    return lib.where(theta < low + band, lower, lib.where(theta > high - band, upper, interior))


def per_loop_ess(draws: np.ndarray, psi: np.ndarray, bounds: np.ndarray, delta: float):
    """Effective sample size of every loop's importance weights at ψ (2K,) → (B,)."""
    k = bounds.shape[0]
    lp = smoothed_logpdf(draws, psi[:k], psi[k:], bounds, delta).sum(axis=-1)  # (B, S)
    w = np.exp(lp - lp.max(axis=1, keepdims=True))
    return w.sum(axis=1) ** 2 / (w**2).sum(axis=1)


@dataclass(frozen=True)
class HierarchicalFit:
    """NUTS draws of ψ (n, 2K) with their convergence record and the per-loop ESS."""

    hyper: np.ndarray
    rhat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    divergences: int
    seconds: float
    loop_ess: np.ndarray


def fit_hierarchical(
    draws: np.ndarray,
    bounds: np.ndarray,
    hyper_box: np.ndarray,
    *,
    delta: float = 0.01,
    spread_floor: float = 0.002,
    n_draws: int = 500,
    n_tune: int = 500,
    chains: int = 2,
    seed: int = 0,
    target_accept: float = 0.9,
) -> HierarchicalFit:
    """Sample the population posterior of one pack from per-loop draws (module docstring).

    Parameters
    ----------
    draws : ndarray (B, S, K)
        S one-loop posterior draws of each of the B loops (knob units, under the uniform
        prior).
    bounds : ndarray (K, 2)
        Knob box.
    hyper_box : ndarray (2K, 2)
        Uniform hyperprior box of (locations, spreads); spreads below ``spread_floor`` of
        the knob range are excluded (the smoothed density needs a positive spread).
    """
    import pymc as pm
    import pytensor.tensor as pt

    from technorhythm.posteriors.arviz_adapter import convergence_summary

    draws = np.asarray(draws, dtype=np.float64)
    b, s, k = draws.shape
    width = bounds[:, 1] - bounds[:, 0]
    start = time.perf_counter()
    with pm.Model():
        loc = pm.Uniform("loc", lower=hyper_box[:k, 0], upper=hyper_box[:k, 1], shape=k)
        spread = pm.Uniform(
            "spread",
            lower=np.maximum(hyper_box[k:, 0], spread_floor * width),
            upper=hyper_box[k:, 1],
            shape=k,
        )
        lp = smoothed_logpdf(pt.as_tensor(draws), loc, spread, bounds, delta).sum(axis=-1)
        pm.Potential("loglike", (pm.math.logsumexp(lp, axis=1) - np.log(s)).sum())
        idata = pm.sample(
            draws=n_draws,
            tune=n_tune,
            chains=chains,
            cores=1,
            random_seed=seed,
            target_accept=target_accept,
            progressbar=False,
            compute_convergence_checks=False,
        )
    seconds = time.perf_counter() - start
    post = idata.posterior
    hyper = np.concatenate(
        [post["loc"].values.reshape(-1, k), post["spread"].values.reshape(-1, k)], axis=1
    )
    conv = convergence_summary(idata, ["loc", "spread"])
    return HierarchicalFit(
        hyper=hyper,
        rhat_max=conv["rhat_max"],
        ess_bulk_min=conv["ess_bulk_min"],
        ess_tail_min=conv["ess_tail_min"],
        divergences=int(idata.sample_stats["diverging"].values.sum()),
        seconds=seconds,
        loop_ess=per_loop_ess(draws, hyper.mean(axis=0), bounds, delta),
    )
