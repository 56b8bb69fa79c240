"""Parameter recovery: do posteriors for simulated sets centre on, and cover, the truth?

``run_recovery`` draws posterior samples for sets simulated at known θ and keeps, per set
and knob, the posterior mean, sd and a central credible interval. ``check_recovery``
reduces that to one row per knob: error of the posterior mean (absolute, relative to the
prior sd, and as R²), bias, the empirical coverage of the interval with a binomial test
against its nominal level, and the interval width relative to the prior range.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from technorhythm.diagnostics.sampling import (
    PosteriorSampler,
    check_pairs,
    draw_posterior_samples,
)

__all__ = ["RecoveryResult", "run_recovery", "check_recovery"]


@dataclass(frozen=True)
class RecoveryResult:
    """Posterior reductions for M simulated sets with known θ (all arrays (M, K), knob units).

    Attributes
    ----------
    theta : true parameters.
    mean, sd : posterior mean and standard deviation.
    lower, upper : bounds of the central ``level`` credible interval.
    level : credible mass of the interval (e.g. 0.9).
    names : knob names, length K.
    n_clips : clips per simulated set (None when unknown or mixed).
    """

    theta: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    level: float
    names: tuple[str, ...]
    n_clips: int | None = None


def run_recovery(
    posterior: PosteriorSampler,
    theta: np.ndarray,
    x: np.ndarray,
    *,
    names: Sequence[str],
    n_samples: int = 1000,
    level: float = 0.9,
    seed: int = 0,
    n_clips: int | None = None,
) -> RecoveryResult:
    """Sample the posterior for each ``x`` (M, D) and reduce against the true ``theta`` (M, K)."""
    theta, x = check_pairs(theta, x)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1); got {level}")
    if len(names) != theta.shape[1]:
        raise ValueError(f"{len(names)} names for {theta.shape[1]} parameters")
    draws = draw_posterior_samples(posterior, x, n_samples, seed=seed)  # (n, M, K)
    tail = (1.0 - level) / 2.0
    lower, upper = np.quantile(draws, [tail, 1.0 - tail], axis=0)
    return RecoveryResult(
        theta=theta,
        mean=draws.mean(axis=0),
        sd=draws.std(axis=0, ddof=1),
        lower=lower,
        upper=upper,
        level=float(level),
        names=tuple(names),
        n_clips=n_clips,
    )


def check_recovery(
    result: RecoveryResult,
    *,
    prior_sd: Sequence[float] | np.ndarray | None = None,
    alpha: float = 0.01,
) -> pd.DataFrame:
    """One row per knob: how well the posterior mean recovers θ and whether intervals cover.

    Columns
    -------
    knob, n_clips, n_sets
    rmse : root mean squared error of the posterior mean (knob units).
    nrmse : ``rmse / prior_sd`` (1 ≈ no better than guessing the prior mean).
    r2 : ``1 − MSE / Var(θ)`` across sets (1 = perfect, 0 = uninformative).
    bias : mean of (posterior mean − θ).
    coverage : share of sets whose central ``level`` interval contains θ.
    coverage_p : two-sided binomial-test p-value of ``coverage`` against ``level``.
    coverage_ok : ``coverage_p ≥ alpha`` (calibrated at this level, within sampling error).
    width : mean interval width relative to the prior range ``prior_sd · √12``.

    ``prior_sd`` defaults to the sd of the true θ across sets (prior draws).
    """
    from scipy.stats import binomtest

    theta = result.theta
    m, k = theta.shape
    psd = theta.std(axis=0, ddof=1) if prior_sd is None else np.asarray(prior_sd, float)
    if psd.shape != (k,):
        raise ValueError(f"prior_sd must have {k} entries; got {psd.shape}")
    err = result.mean - theta
    mse = (err**2).mean(axis=0)
    covered = (result.lower <= theta) & (theta <= result.upper)
    hits = covered.sum(axis=0)
    rows = []
    for j in range(k):
        p = binomtest(int(hits[j]), m, result.level).pvalue
        rows.append(
            {
                "knob": result.names[j],
                "n_clips": result.n_clips,
                "n_sets": m,
                "rmse": float(np.sqrt(mse[j])),
                "nrmse": float(np.sqrt(mse[j]) / psd[j]),
                "r2": float(1.0 - mse[j] / theta[:, j].var()),
                "bias": float(err[:, j].mean()),
                "coverage": float(hits[j] / m),
                "coverage_p": float(p),
                "coverage_ok": bool(p >= alpha),
                "width": float(
                    (result.upper[:, j] - result.lower[:, j]).mean() / (psd[j] * np.sqrt(12.0))
                ),
            }
        )
    return pd.DataFrame(rows)
