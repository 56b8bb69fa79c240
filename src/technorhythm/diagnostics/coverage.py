"""Coverage of credible regions: the flow's own joint regions, and intervals near bounds.

* :func:`run_hpd_ranks` — for each simulated set, the share of posterior draws whose
  posterior density exceeds the density at the true parameters. For a calibrated
  posterior this share is uniform on [0, 1]: the true value lies inside the
  highest-density region of mass α exactly when its share is below α.
* :func:`check_hpd_coverage` — the coverage of those joint regions at given levels.
* :func:`check_interval_coverage` — the coverage of per-parameter intervals (for example
  94% HDIs), overall and for true values close to a bound of their range, where a flow
  that cannot reach the bound under-covers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["run_hpd_ranks", "check_hpd_coverage", "check_interval_coverage"]


def run_hpd_ranks(log_q_true: np.ndarray, log_q_draws: np.ndarray) -> np.ndarray:
    """Share of draws denser than the truth, per set: ``log_q_true`` (M,), draws (n, M)."""
    log_q_true = np.asarray(log_q_true, dtype=np.float64)
    log_q_draws = np.asarray(log_q_draws, dtype=np.float64)
    if log_q_draws.ndim != 2 or log_q_draws.shape[1] != log_q_true.shape[0]:
        raise ValueError(f"draws must be (n, M={log_q_true.shape[0]}); got {log_q_draws.shape}")
    return (log_q_draws > log_q_true[None, :]).mean(axis=0)


def check_hpd_coverage(
    ranks: np.ndarray, levels: Sequence[float] = (0.5, 0.9), *, tolerance: float = 0.05
) -> pd.DataFrame:
    """Coverage of the highest-density regions at each level: ``level, coverage, ok``."""
    ranks = np.asarray(ranks, dtype=np.float64)
    rows = []
    for level in levels:
        cover = float(np.mean(ranks < level))
        rows.append({"level": level, "coverage": cover, "ok": abs(cover - level) <= tolerance})
    return pd.DataFrame(rows)


def check_interval_coverage(
    truth: np.ndarray,
    intervals: np.ndarray,
    bounds: np.ndarray,
    *,
    names: Sequence[str],
    level: float,
    near: float = 0.02,
    tolerance: float = 0.05,
) -> pd.DataFrame:
    """Coverage of per-parameter intervals, overall and for truths near a bound.

    Parameters
    ----------
    truth : (M, P) true values; ``intervals`` : (M, P, 2) lower and upper ends.
    bounds : (P, 2) the range of each parameter; a truth is *near a bound* when it lies
        within ``near`` of the range from either end.
    level : the intervals' nominal mass.

    Returns one row per parameter: ``param, coverage, n_near, coverage_near, ok_near``
    (``ok_near``: within ``tolerance`` of ``level``; NaN/None when no truth is near).
    """
    truth = np.asarray(truth, dtype=np.float64)
    intervals = np.asarray(intervals, dtype=np.float64)
    if intervals.shape != (*truth.shape, 2):
        raise ValueError(f"intervals must be {(*truth.shape, 2)}; got {intervals.shape}")
    inside = (truth >= intervals[..., 0]) & (truth <= intervals[..., 1])
    width = bounds[:, 1] - bounds[:, 0]
    close = (truth - bounds[:, 0] <= near * width) | (bounds[:, 1] - truth <= near * width)
    rows = []
    for j, name in enumerate(names):
        n_near = int(close[:, j].sum())
        cov_near = float(inside[close[:, j], j].mean()) if n_near else float("nan")
        rows.append(
            {
                "param": name,
                "coverage": float(inside[:, j].mean()),
                "n_near": n_near,
                "coverage_near": cov_near,
                "ok_near": (abs(cov_near - level) <= tolerance) if n_near else None,
            }
        )
    return pd.DataFrame(rows)
