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

Kernel likelihood (``likelihood="kernel"``): the sum above is rough in ψ. Each draw's term
is a narrow bump, and once the population is narrower than a loop's posterior, which draw
carries the weight changes with every step of ψ, so NUTS needs deep trees. The kernel
version replaces each loop's draws, knob by knob, by their kernel density estimate
q_h(θ) = (1/S) Σ_s N(θ; θ_s, h), reflected at the bounds so that it is a density on the
box, with Silverman's bandwidth h. Its integral against the censored normal, point masses
included, is closed form:

    ∫ q_h p(· | ψ) = (1/S) Σ_s N(θ_s; loc, τ) [Φ((high − m_s)/σ) − Φ((low − m_s)/σ)]
                     + Φ((low − loc)/spread) q_h(low) + Φ((loc − high)/spread) q_h(high)

with τ² = h² + spread², m_s = (θ_s spread² + loc h²)/τ², σ = h spread/τ; the sum runs over
the draws and their mirror images, still divided by S. It needs no δ smoothing and stays
smooth as the spread goes to 0. It is factorised across knobs: it drops the
correlations within a loop's posterior.

Per-loop effective sample size: with weights w_is = p(θ_is | ψ̂) at the posterior mean ψ̂,
``ESS_i = (Σ_s w_is)² / Σ_s w_is²``. When the population is much narrower than the
per-loop posteriors, few draws carry the weight and the estimate of L(ψ) is noisy;
:func:`per_loop_ess` reports it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

__all__ = [
    "HierarchicalFit",
    "fit_hierarchical",
    "kernel_bandwidth",
    "kernel_loglike",
    "per_loop_ess",
    "smoothed_logpdf",
]


def _ncdf(t, lib):
    """Standard normal CDF on numpy arrays or PyTensor tensors."""
    if lib is np:
        from scipy.special import ndtr

        return ndtr(t)
    return 0.5 * lib.erfc(-t / np.sqrt(2.0))


def _log_ncdf(t, lib):
    """log of the standard normal CDF (floored at 1e-300 for PyTensor's gradients)."""
    if lib is np:
        from scipy.special import log_ndtr

        return log_ndtr(t)
    return lib.log(_ncdf(t, lib) + 1e-300)


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

    lower = _log_ncdf((low + band - loc) / spread, lib) - np.log(band)
    upper = _log_ncdf((loc - high + band) / spread, lib) - np.log(band)
    return lib.where(theta < low + band, lower, lib.where(theta > high - band, upper, interior))


def kernel_bandwidth(draws: np.ndarray, bounds: np.ndarray, floor: float = 0.002) -> np.ndarray:
    """Silverman's bandwidth of every loop's draws per knob, (B, S, K) → (B, K).

    At least ``floor`` of the knob range, so that a loop whose draws all sit on one value
    still has a density.
    """
    draws = np.asarray(draws, dtype=np.float64)
    width = bounds[:, 1] - bounds[:, 0]
    h = 1.06 * draws.std(axis=1) * draws.shape[1] ** -0.2
    return np.maximum(h, floor * width)


def _reflect(draws: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """The draws and their mirror images at both bounds, (B, S, K) → (B, 3S, K)."""
    low, high = bounds[:, 0], bounds[:, 1]
    return np.concatenate([draws, 2 * low - draws, 2 * high - draws], axis=1)


def _bound_density(mirrored: np.ndarray, s: int, h: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Reflected kernel density at one point per knob, (B, K), from the mirrored draws."""
    from scipy.stats import norm

    return norm.pdf(at, loc=mirrored, scale=h[:, None, :]).sum(axis=1) / s


def kernel_loglike(draws: np.ndarray, loc, spread, bounds: np.ndarray, h: np.ndarray):
    """log ∫ q_h(θ) p(θ | loc, spread) dθ for every loop and knob (module docstring).

    ``draws`` (B, S, K) in knob units, ``h`` (B, K) from :func:`kernel_bandwidth`;
    ``loc``/``spread`` (K,) numpy arrays or PyTensor tensors. Returns (B, K).
    """
    import pytensor.tensor as pt

    lib = pt if not isinstance(loc, np.ndarray) else np
    draws = np.asarray(draws, dtype=np.float64)
    s = draws.shape[1]
    low, high = bounds[:, 0], bounds[:, 1]
    x = _reflect(draws, bounds)  # (B, 3S, K)
    hh = h[:, None, :] ** 2
    sp2 = spread**2
    tau2 = hh + sp2
    m = (x * sp2 + loc * hh) / tau2
    sig = lib.sqrt(hh * sp2 / tau2)

    mass = _ncdf((high - m) / sig, lib) - _ncdf((low - m) / sig, lib)
    log_mass = lib.log(lib.maximum(mass, 1e-300))
    log_pair = -0.5 * (x - loc) ** 2 / tau2 - 0.5 * lib.log(tau2) - 0.5 * np.log(2 * np.pi)
    terms = log_pair + log_mass
    if lib is np:
        from scipy.special import logsumexp

        interior = logsumexp(terms, axis=1) - np.log(s)
    else:
        interior = pt.logsumexp(terms, axis=1) - np.log(s)
    q_low = np.log(np.maximum(_bound_density(x, s, h, low), 1e-300))
    q_high = np.log(np.maximum(_bound_density(x, s, h, high), 1e-300))
    at_low = _log_ncdf((low - loc) / spread, lib) + q_low
    at_high = _log_ncdf((loc - high) / spread, lib) + q_high
    if lib is np:
        return np.logaddexp(interior, np.logaddexp(at_low, at_high))
    return pt.logsumexp(pt.stack([interior, at_low, at_high]), axis=0)


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
    tree_depth_mean: float = float("nan")


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
    likelihood: str = "draws",
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
    likelihood : {"draws", "kernel"}
        ``"draws"``: the Monte Carlo sum over each loop's draws (joint over knobs);
        ``"kernel"``: the closed-form integral of each loop's reflected kernel density,
        knob by knob (module docstring).
    """
    from technorhythm.posteriors.arviz_adapter import convergence_summary

    if likelihood not in ("draws", "kernel"):
        raise ValueError(f"likelihood must be 'draws' or 'kernel', got {likelihood!r}")
    draws = np.asarray(draws, dtype=np.float64)
    k = draws.shape[2]
    width = bounds[:, 1] - bounds[:, 0]
    lower = np.column_stack([hyper_box[:k, 0], np.maximum(hyper_box[k:, 0], spread_floor * width)])
    upper = np.column_stack([hyper_box[:k, 1], hyper_box[k:, 1]])
    # The kernel likelihood and the hyperprior factorise over knobs, so the posterior does
    # too: each knob's (loc, spread) is sampled on its own, with its own step size and mass
    # matrix. One joint run has to take the smallest knob's steps everywhere.
    blocks = [[j] for j in range(k)] if likelihood == "kernel" else [list(range(k))]
    sample = {
        "draws": n_draws, "tune": n_tune, "chains": chains, "target_accept": target_accept,
    }  # fmt: skip
    start = time.perf_counter()
    runs = [
        _sample_block(draws[..., j], bounds[j], lower[j], upper[j], likelihood, delta,
                      sample, seed=seed + 7919 * n)
        for n, j in enumerate(blocks)
    ]  # fmt: skip
    seconds = time.perf_counter() - start
    loc = np.concatenate([r.posterior["loc"].values for r in runs], axis=-1)
    spread = np.concatenate([r.posterior["spread"].values for r in runs], axis=-1)
    hyper = np.concatenate([loc.reshape(-1, k), spread.reshape(-1, k)], axis=1)
    conv = [convergence_summary(r, ["loc", "spread"]) for r in runs]
    stats = [r.sample_stats for r in runs]
    return HierarchicalFit(
        hyper=hyper,
        rhat_max=max(c["rhat_max"] for c in conv),
        ess_bulk_min=min(c["ess_bulk_min"] for c in conv),
        ess_tail_min=min(c["ess_tail_min"] for c in conv),
        divergences=int(sum(st["diverging"].values.sum() for st in stats)),
        seconds=seconds,
        loop_ess=per_loop_ess(draws, hyper.mean(axis=0), bounds, delta),
        tree_depth_mean=float(np.mean([st["tree_depth"].values.mean() for st in stats])),
    )


def _sample_block(draws, bounds, lower, upper, likelihood, delta, sample, *, seed):
    """NUTS over the (loc, spread) of the knobs in one block; returns the InferenceData."""
    import pymc as pm
    import pytensor.tensor as pt

    k = draws.shape[2]
    with pm.Model():
        loc = pm.Uniform("loc", lower=lower[:, 0], upper=upper[:, 0], shape=k)
        spread = pm.Uniform("spread", lower=lower[:, 1], upper=upper[:, 1], shape=k)
        if likelihood == "kernel":
            h = kernel_bandwidth(draws, bounds)
            loglike = kernel_loglike(draws, loc, spread, bounds, h).sum()
        else:
            s = draws.shape[1]
            lp = smoothed_logpdf(pt.as_tensor(draws), loc, spread, bounds, delta).sum(axis=-1)
            loglike = (pm.math.logsumexp(lp, axis=1) - np.log(s)).sum()
        pm.Potential("loglike", loglike)
        return pm.sample(
            **sample,
            cores=1,
            random_seed=seed,
            progressbar=False,
            compute_convergence_checks=False,
        )
