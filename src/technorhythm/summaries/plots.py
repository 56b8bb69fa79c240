"""Plots of :class:`~technorhythm.summaries.eda.EdaResult` (matplotlib is imported here only).

Every ``plot_*`` function returns a matplotlib Figure; :func:`write_eda_plots`
draws them all and writes PNG files atomically.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from technorhythm.clips import INSTRUMENTS, N_STEPS, STEPS_PER_BAR
from technorhythm.figures import save_figure
from technorhythm.summaries.eda import EdaResult

__all__ = [
    "plot_density_histograms",
    "plot_kick_hat_phase",
    "plot_velocity",
    "plot_microtiming",
    "plot_pca",
    "plot_nmf",
    "write_eda_plots",
]

_PHASE_LABELS = ("1 (beat)", "e", "&", "a")


def _plt():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _roll(ax, roll: np.ndarray, *, signed: bool, title: str) -> None:
    """Draw one (5, 64) component as a piano-roll."""
    lim = float(np.abs(roll).max()) or 1.0
    if signed:
        im = ax.imshow(
            roll, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest"
        )
    else:
        im = ax.imshow(
            roll, aspect="auto", cmap="magma_r", vmin=0, vmax=lim, interpolation="nearest"
        )
    for x in range(STEPS_PER_BAR, N_STEPS, STEPS_PER_BAR):
        ax.axvline(x - 0.5, color="0.5", lw=0.6)
    ax.set_yticks(range(len(INSTRUMENTS)), INSTRUMENTS, fontsize=7)
    ax.set_xticks(
        range(0, N_STEPS, 4), [str(s // 4 % 4 + 1) for s in range(0, N_STEPS, 4)], fontsize=6
    )
    ax.set_title(title, fontsize=8)
    return im


def plot_density_histograms(result: EdaResult):
    """Histogram of per-clip onset density for each instrument."""
    plt = _plt()
    fig, axes = plt.subplots(1, 5, figsize=(11, 2.4), sharey=True)
    bins = np.linspace(0, 1, 33)
    for ax, inst in zip(axes, INSTRUMENTS, strict=True):
        d = result.features[f"density_{inst}"]
        ax.hist(d, bins=bins, color="0.3")
        ax.set_title(f"{inst} (mean {d.mean():.2f})", fontsize=8)
        ax.set_xlabel("onsets per 16th step", fontsize=7)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("clips", fontsize=7)
    fig.tight_layout()
    return fig


def plot_kick_hat_phase(result: EdaResult):
    """Onset share per 16th of the beat (kick, hats) per group, and the kick→hat lag profile."""
    plt = _plt()
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(12, 3.2))
    phase = result.beat_phase
    groups = list(dict.fromkeys(phase.index.get_level_values(0)))
    width = 0.8 / max(len(groups), 1)
    for ax, inst in ((ax1, "kick"), (ax2, "hats")):
        for k, g in enumerate(groups):
            ax.bar(np.arange(4) + k * width, phase.loc[(g, inst)].to_numpy(), width, label=g)
        ax.set_xticks(np.arange(4) + 0.4 - width / 2, _PHASE_LABELS, fontsize=7)
        ax.set_title(f"{inst}: share of onsets per 16th of the beat", fontsize=8)
        ax.tick_params(labelsize=7)
    ax1.legend(fontsize=6, ncol=2)
    xc = result.kick_hat_xcorr
    for g, row in xc.iterrows():
        ax3.plot(
            xc.columns, row.to_numpy(), marker="o", ms=3, lw=1.5 if g == "all" else 0.8, label=g
        )
    ax3.set_xlabel("hat lag after kick [16th steps]", fontsize=7)
    ax3.set_title("share of kicks with a hat d steps later", fontsize=8)
    ax3.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def plot_velocity(result: EdaResult):
    """Velocity distribution of each instrument's onsets."""
    plt = _plt()
    fig, axes = plt.subplots(1, 5, figsize=(11, 2.4), sharey=False)
    bins = np.arange(0, 129, 4)
    for ax, inst in zip(axes, INSTRUMENTS, strict=True):
        v = result.velocities[inst]
        ax.hist(v, bins=bins, color="C1")
        ax.set_title(f"{inst} (n={len(v)}, mean {v.mean() if len(v) else 0:.0f})", fontsize=8)
        ax.set_xlabel("MIDI velocity", fontsize=7)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def plot_microtiming(result: EdaResult):
    """Distribution of onset offsets from the grid (ms at each clip's tempo)."""
    plt = _plt()
    fig, axes = plt.subplots(1, 5, figsize=(11, 2.4), sharey=False)
    bins = np.linspace(-60, 60, 49)
    for ax, inst in zip(axes, INSTRUMENTS, strict=True):
        o = result.offsets_ms[inst]
        ax.hist(np.clip(o, -60, 60), bins=bins, color="C2")
        med = float(np.median(o)) if len(o) else 0.0
        ax.axvline(0, color="k", lw=0.6)
        ax.set_title(f"{inst} (median {med:+.1f} ms)", fontsize=8)
        ax.set_xlabel("offset from grid [ms], clipped to ±60", fontsize=7)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return fig


def plot_pca(result: EdaResult):
    """PCA components of the clip matrix drawn as signed piano-rolls."""
    plt = _plt()
    k = len(result.pca_components)
    fig, axes = plt.subplots(k, 1, figsize=(9, 1.5 * k), squeeze=False)
    for j, ax in enumerate(axes[:, 0]):
        _roll(
            ax,
            result.pca_components[j],
            signed=True,
            title=f"PC{j + 1}: {100 * result.pca_explained[j]:.1f}% of variance",
        )
    fig.tight_layout()
    return fig


def plot_nmf(result: EdaResult):
    """NMF parts for each K drawn as piano-rolls (rows: K, columns: parts)."""
    plt = _plt()
    ks = sorted(result.nmf)
    cols = max(ks)
    fig, axes = plt.subplots(len(ks), cols, figsize=(3.2 * cols, 1.5 * len(ks)), squeeze=False)
    for r, k in enumerate(ks):
        parts, err = result.nmf[k]
        for c in range(cols):
            ax = axes[r, c]
            if c < k:
                _roll(ax, parts[c], signed=False, title=f"K={k} part {c + 1} (rel. err {err:.2f})")
            else:
                ax.axis("off")
    fig.tight_layout()
    return fig


_PLOTS = {
    "density_histograms.png": plot_density_histograms,
    "kick_hat_phase.png": plot_kick_hat_phase,
    "velocity.png": plot_velocity,
    "microtiming.png": plot_microtiming,
    "pca_components.png": plot_pca,
    "nmf_components.png": plot_nmf,
}


def write_eda_plots(
    result: EdaResult, out_dir: str | os.PathLike[str], *, dpi: int = 90
) -> list[Path]:
    """Draw every EDA plot into ``out_dir`` as PNG (atomic writes); returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, draw in _PLOTS.items():
        paths.append(save_figure(draw(result), out / name, dpi=dpi))
    return paths
