"""Drawing the posterior predictive checks (matplotlib; imported lazily by the check writer).

Every ``plot_*`` takes results of :mod:`technorhythm.diagnostics.histograms` /
:mod:`technorhythm.diagnostics.c2st` (or the check table), returns the figure when ``path``
is None and otherwise writes a PNG atomically and returns the path.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg", force=False)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from technorhythm.clips import INSTRUMENTS, STEPS_PER_BAR  # noqa: E402
from technorhythm.diagnostics.c2st import C2STResult  # noqa: E402
from technorhythm.diagnostics.histograms import HistogramCheck, bin_labels  # noqa: E402
from technorhythm.figures import save_figure  # noqa: E402

__all__ = [
    "plot_onset_profiles",
    "plot_distributions",
    "plot_c2st_families",
    "plot_check_overview",
]

_REAL, _GEN = "0.25", "C3"


def plot_onset_profiles(
    onset: HistogramCheck,
    path: str | os.PathLike[str] | None = None,
    *,
    title: str = "",
    dpi: int = 90,
):
    """Per instrument, the probability of an onset at each 16th of the bar: the real set
    (grey, with its bootstrap 95 % band) and the generated set (red)."""
    if onset.name != "onset":
        raise ValueError(f"expected the onset histogram; got {onset.name!r}")
    k = len(INSTRUMENTS)
    fig, axes = plt.subplots(1, k, figsize=(3.0 * k, 2.6), sharey=True)
    x = np.arange(STEPS_PER_BAR)
    for i, (inst, ax) in enumerate(zip(INSTRUMENTS, axes, strict=True)):
        sl = slice(i * STEPS_PER_BAR, (i + 1) * STEPS_PER_BAR)
        ax.fill_between(x, onset.lo[sl], onset.hi[sl], step="mid", color=_REAL, alpha=0.25, lw=0)
        ax.step(x, onset.real[sl], where="mid", color=_REAL, lw=1.2, label="real (95% band)")
        ax.plot(x, onset.generated[sl], "o-", color=_GEN, ms=3, lw=0.8, label="generated")
        out = ~onset.inside[sl]
        ax.plot(x[out], onset.generated[sl][out], "x", color="k", ms=6, label="outside band")
        err, floor = onset.rel_error_by_instrument.get(inst, (np.nan, np.nan))
        ax.set_title(f"{inst}\nrel. error {err:.2f} (floor {floor:.2f})", fontsize=8)
        ax.set_xticks([0, 4, 8, 12])
        ax.set_xticklabels(["1", "2", "3", "4"])
        ax.tick_params(labelsize=7)
        ax.set_ylim(-0.02, 1.02)
    axes[0].set_ylabel("P(onset) per bar")
    axes[0].legend(fontsize=6, loc="upper right")
    fig.suptitle(
        f"{title}: onset position profiles — {onset.in_band:.0%} of bins inside the real band",
        fontsize=9,
    )
    fig.supxlabel("beat of the bar (16th positions)", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, dpi=dpi)


def plot_distributions(
    histograms: dict[str, HistogramCheck],
    path: str | os.PathLike[str] | None = None,
    *,
    title: str = "",
    dpi: int = 90,
):
    """Velocity, microtiming and bar-repeat histograms: real bars with their 95 % band,
    generated markers."""
    names = [n for n in ("velocity", "timing", "bar_repeat") if n in histograms]
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.0))
    axes = np.atleast_1d(axes)
    for name, ax in zip(names, axes, strict=True):
        h = histograms[name]
        x = np.arange(len(h.real))
        err = np.stack([h.real - h.lo, h.hi - h.real]).clip(min=0)
        ax.bar(x, h.real, color=_REAL, alpha=0.5, yerr=err, capsize=2, label="real (95% band)")
        ax.plot(x, h.generated, "o", color=_GEN, ms=4, label="generated")
        ax.set_xticks(x)
        ax.set_xticklabels(bin_labels(name), rotation=60, fontsize=6)
        ax.set_title(
            f"{name}: rel. error {h.rel_error:.2f} (floor {h.rel_error_floor:.2f}), "
            f"{h.in_band:.0%} in band",
            fontsize=8,
        )
        ax.tick_params(axis="y", labelsize=7)
    axes[0].set_ylabel("share")
    axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path, dpi=dpi)


def plot_c2st_families(
    result: C2STResult,
    path: str | os.PathLike[str] | None = None,
    *,
    title: str = "",
    dpi: int = 90,
):
    """Classifier accuracy per feature family (best classifier), with the 95 % band of
    chance (binomial around 0.5): what gives the generated loops away."""
    t = result.table
    best = t.loc[t.groupby("family", sort=False)["accuracy"].idxmax()]
    fig, ax = plt.subplots(figsize=(5.0, 0.32 * len(best) + 1.2))
    y = np.arange(len(best))[::-1]
    ax.barh(y, best["accuracy"], color=["C3" if p < 0.05 else "C0" for p in best["p_value"]])
    n = int(best["n"].iloc[0])
    half = 1.96 * 0.5 / np.sqrt(n)
    ax.axvspan(0.5 - half, 0.5 + half, color="0.8", alpha=0.6, label="chance (95%)")
    ax.set_yticks(y)
    ax.set_yticklabels(best["family"], fontsize=8)
    ax.set_xlim(0.3, 1.0)
    ax.set_xlabel("C2ST accuracy (out of fold)")
    ax.set_title(f"{title}: real vs generated, {n} clips".strip(": "), fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return save_figure(fig, path, dpi=dpi)


def plot_check_overview(
    table: pd.DataFrame, path: str | os.PathLike[str] | None = None, *, dpi: int = 90
):
    """Per group: C2ST accuracy (left) and D(real, posterior predictive) over its noise
    floor, with D(real, prior predictive) over the floor for comparison (right)."""
    groups = table["group"].astype(str).tolist()
    y = np.arange(len(groups))[::-1]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9.0, 0.28 * len(groups) + 1.6), sharey=True)
    if "c2st" in table:
        a.barh(y, table["c2st"].astype(float), color="C0")
        a.axvline(0.5, color="k", lw=0.8)
        a.set_xlim(0.3, 1.0)
    a.set_xlabel("C2ST accuracy, real vs posterior predictive")
    a.set_yticks(y)
    a.set_yticklabels(groups, fontsize=7)
    if "d_ratio" in table and "d_floor" in table:
        floor = table["d_floor"].astype(float)
        b.plot(table["d_ratio"].astype(float), y, "o", color="C3", label="posterior predictive")
        prior = table["d_prior"].astype(float) / floor
        b.plot(prior, y, "s", mfc="none", color="0.4", label="prior predictive")
        b.axvline(1.0, color="k", lw=0.8)
        b.legend(fontsize=7)
    b.set_xlabel("D(real, generated) / D(real half, real half)")
    fig.tight_layout()
    return save_figure(fig, path, dpi=dpi)
