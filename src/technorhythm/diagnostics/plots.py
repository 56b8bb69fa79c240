"""Drawing the diagnostics (the only module of this package that imports matplotlib).

Every ``plot_*`` takes ``run_*`` results, returns the figure when ``path`` is None and
otherwise writes a PNG atomically, closes the figure and returns the path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg", force=False)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from technorhythm.diagnostics.recovery import RecoveryResult  # noqa: E402
from technorhythm.diagnostics.sbc import SBCResult  # noqa: E402
from technorhythm.diagnostics.tarp import TarpResult  # noqa: E402
from technorhythm.figures import save_figure  # noqa: E402

__all__ = ["plot_recovery", "plot_sbc_ranks", "plot_tarp", "save_figure"]


def _label(result, fallback: str) -> str:
    return f"N = {result.n_clips}" if result.n_clips is not None else fallback


def plot_recovery(
    results: Sequence[RecoveryResult],
    path: str | os.PathLike[str] | None = None,
    *,
    labels: Sequence[str] | None = None,
    max_points: int = 120,
    ncols: int = 4,
    dpi: int = 90,
):
    """Posterior mean (with its central interval) against the true value, one panel per knob.

    One colour per result (e.g. per set size N); at most ``max_points`` sets each.
    """
    if not results:
        raise ValueError("plot_recovery needs at least one RecoveryResult")
    names = results[0].names
    nrows = int(np.ceil(len(names) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 3.0 * nrows), squeeze=False)
    for r_i, res in enumerate(results):
        label = labels[r_i] if labels else _label(res, f"set {r_i + 1}")
        m = min(max_points, res.theta.shape[0])
        for j, ax in enumerate(axes.flat[: len(names)]):
            t, mu = res.theta[:m, j], res.mean[:m, j]
            err = np.stack([mu - res.lower[:m, j], res.upper[:m, j] - mu])
            ax.errorbar(
                t,
                mu,
                yerr=np.clip(err, 0, None),
                fmt="o",
                ms=2,
                lw=0.5,
                alpha=0.5,
                color=f"C{r_i}",
                label=label if j == 0 else None,
            )
    for j, ax in enumerate(axes.flat):
        if j >= len(names):
            ax.set_visible(False)
            continue
        lo = min(r.theta[:, j].min() for r in results)
        hi = max(r.theta[:, j].max() for r in results)
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_title(names[j], fontsize=9)
        ax.tick_params(labelsize=7)
    axes.flat[0].legend(fontsize=7, loc="upper left")
    fig.supxlabel("true value")
    fig.supylabel(f"posterior mean and {results[0].level:.0%} interval")
    fig.tight_layout()
    return save_figure(fig, path, dpi=dpi)


def plot_sbc_ranks(
    results: Sequence[SBCResult],
    path: str | os.PathLike[str] | None = None,
    *,
    kind: str = "cdf",
    ncols: int = 4,
    dpi: int = 90,
):
    """SBC ranks with sbi's ``sbc_rank_plot``: ECDFs (``kind="cdf"``, all results overlaid,
    with the band expected under uniformity) or histograms (``kind="hist"``, first result)."""
    from sbi.analysis import sbc_rank_plot

    if not results:
        raise ValueError("plot_sbc_ranks needs at least one SBCResult")
    if kind not in ("cdf", "hist"):
        raise ValueError(f"kind must be 'cdf' or 'hist'; got {kind!r}")
    chosen = list(results) if kind == "cdf" else [results[0]]
    k = len(chosen[0].names)
    nrows = int(np.ceil(k / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.6 * nrows), squeeze=False)
    sbc_rank_plot(
        [r.ranks.astype(np.float64) for r in chosen],
        chosen[0].n_samples,
        plot_type=kind,
        parameter_labels=list(chosen[0].names),
        ranks_labels=[_label(r, f"set {i + 1}") for i, r in enumerate(chosen)],
        fig=fig,
        ax=axes if nrows > 1 else axes[0],  # sbi indexes a single row as 1-D
        num_cols=ncols,
        params_in_subplots=True,
        num_bins=20 if kind == "hist" else None,
    )
    for ax in axes.flat[k:]:
        ax.set_visible(False)
    if kind == "cdf":
        axes.flat[0].legend(fontsize=7, loc="upper left")
    for ax in axes.flat[:k]:
        ax.tick_params(labelsize=7)
        ax.xaxis.label.set_size(8)
    title = "SBC rank ECDFs" if kind == "cdf" else f"SBC rank histograms, {_label(chosen[0], '')}"
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, path, dpi=dpi)


def plot_tarp(
    results: Sequence[TarpResult],
    path: str | os.PathLike[str] | None = None,
    *,
    dkw_alpha: float = 0.05,
    dpi: int = 90,
):
    """TARP expected coverage against credibility, one curve per result, with the ideal
    diagonal and the DKW band used by ``check_tarp``."""
    if not results:
        raise ValueError("plot_tarp needs at least one TarpResult")
    fig, ax = plt.subplots(figsize=(4.6, 4.4))
    grid = np.linspace(0, 1, 101)
    for i, res in enumerate(results):
        ax.plot(res.alpha, res.ecp, color=f"C{i}", label=_label(res, f"set {i + 1}"))
        band = np.sqrt(np.log(2 / dkw_alpha) / (2 * res.n_sets))
        ax.fill_between(grid, grid - band, grid + band, color=f"C{i}", alpha=0.08, lw=0)
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="calibrated")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("credibility level α")
    ax.set_ylabel("expected coverage")
    ax.set_title("TARP expected coverage")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return save_figure(fig, path, dpi=dpi)
