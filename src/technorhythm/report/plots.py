"""The report's figures as PNG bytes (the only module of this package that imports matplotlib).

ArviZ figures come from :mod:`technorhythm.posteriors.arviz_adapter`, SBC and TARP
figures from :mod:`technorhythm.diagnostics.plots`; this module lays them out, draws the
correlation heatmap and turns every figure into a compact PNG (a palette of
:data:`COLOURS` colours: line art loses nothing visible and the files shrink 2–4×).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg", force=False)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from technorhythm.figures import png_bytes  # noqa: E402
from technorhythm.posteriors import arviz_adapter as adapter  # noqa: E402

__all__ = [
    "COLOURS",
    "DPI",
    "MarginalsCanvas",
    "marginals_png",
    "pair_png",
    "heatmap_png",
    "forest_png",
    "sbc_png",
    "tarp_png",
    "compact_png",
]

COLOURS = 96
"""Palette size of every embedded PNG."""
DPI = 72
"""Resolution of the report's own figures (dots per inch)."""


def _png(fig) -> bytes:
    return png_bytes(fig, dpi=DPI, colours=COLOURS)


def _margins(
    fig, *, left: float, right: float, top: float, bottom: float, **spacing: float
) -> None:
    """Fixed margins in inches (``tight_layout`` would draw the whole figure once more)."""
    w, h = fig.get_size_inches()
    fig.subplots_adjust(
        left=left / w, right=1 - right / w, top=1 - top / h, bottom=bottom / h, **spacing
    )


class MarginalsCanvas:
    """One figure of marginal panels, redrawn for every group (creating the axes and their
    ticks once instead of per group is most of the cost of this figure)."""

    def __init__(self, knobs: Sequence[str], bounds: np.ndarray, *, ncols: int = 6) -> None:
        self.knobs = list(knobs)
        self.xlims = {k: (float(lo), float(hi)) for k, (lo, hi) in zip(knobs, bounds, strict=True)}
        self.ncols = min(ncols, len(self.knobs))
        nrows = int(np.ceil(len(self.knobs) / self.ncols))
        self.fig, axes = plt.subplots(
            nrows, self.ncols, figsize=(2.5 * self.ncols, 1.7 * nrows), squeeze=False
        )
        self.axes = axes.ravel()
        _margins(self.fig, left=0.25, right=0.25, top=0.3, bottom=0.3, wspace=0.3, hspace=0.7)

    def _clear(self) -> None:
        for ax in self.axes:
            for artist in [*ax.lines, *ax.collections, *ax.texts, *ax.patches]:
                artist.remove()
            ax.relim()
            ax.set_autoscaley_on(True)

    def png(self, means, group: str, *, hdi_prob: float) -> bytes:
        """ArviZ posterior plot of every knob's mean value in ``group``, x axis = knob range."""
        self._clear()
        adapter.plot_marginals(
            means,
            self.knobs,
            group=group,
            hdi_prob=hdi_prob,
            ncols=self.ncols,
            xlims=self.xlims,
            ax=self.axes,
        )
        for ax in self.axes:
            ax.xaxis.set_major_locator(MaxNLocator(4))
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png", dpi=DPI)
        return compact_png(buf.getvalue())

    def close(self) -> None:
        plt.close(self.fig)


def marginals_png(
    means, group: str, knobs: Sequence[str], bounds: np.ndarray, *, hdi_prob: float
) -> bytes:
    """ArviZ posterior plot of every knob's mean value in one group, x axis = knob range."""
    canvas = MarginalsCanvas(knobs, bounds)
    try:
        return canvas.png(means, group, hdi_prob=hdi_prob)
    finally:
        canvas.close()


def pair_png(means, group: str, pairs: Sequence[tuple[str, str, float]]) -> bytes:
    """ArviZ scatter plots of the given (knob a, knob b, ρ) pairs of one group, side by side."""
    fig, axes = plt.subplots(1, len(pairs), figsize=(2.6 * len(pairs), 2.5), squeeze=False)
    for ax, (a, b, rho) in zip(axes.flat, pairs, strict=True):
        adapter.plot_pair(means, [a, b], group=group, ax=ax, textsize=7)
        ax.set_title(f"ρ = {rho:+.2f}", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.yaxis.set_major_locator(MaxNLocator(4))
    _margins(fig, left=0.55, right=0.15, top=0.3, bottom=0.5, wspace=0.45)
    return _png(fig)


def heatmap_png(corr: np.ndarray, names: Sequence[str], *, mark: float = 0.5) -> bytes:
    """The correlation matrix as a heatmap (−1 blue … +1 red); cells with |ρ| ≥ ``mark``
    carry their value. NaN cells (a knob without posterior spread) are left grey."""
    k = len(names)
    size = 1.6 + 0.32 * k
    fig, ax = plt.subplots(figsize=(size + 0.9, size))
    shown = np.ma.masked_invalid(np.asarray(corr, dtype=float))
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad="0.85")
    im = ax.imshow(shown, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    ax.set_xticks(np.arange(k), list(names), rotation=90, fontsize=7)
    ax.set_yticks(np.arange(k), list(names), fontsize=7)
    for i, j in zip(*np.nonzero(np.abs(np.nan_to_num(shown.filled(0.0))) >= mark), strict=True):
        if i != j:
            ax.text(j, i, f"{corr[i, j]:.1f}", ha="center", va="center", fontsize=6)
    fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02).ax.tick_params(labelsize=7)
    ax.set_title("posterior correlation of the knobs' mean values", fontsize=9)
    label = 0.06 * max(len(n) for n in names) + 0.2
    _margins(fig, left=label, right=0.2, top=0.3, bottom=label)
    return _png(fig)


def forest_png(
    means,
    knobs: Sequence[str],
    bounds: np.ndarray,
    *,
    hdi_prob: float,
    ncols: int = 4,
    labels: Mapping[str, str] | None = None,
) -> bytes:
    """One ArviZ forest plot per knob (one row per group), in a grid; x axis = knob range.
    Group names are written on the first panel of each row only."""
    n_groups = int(means.posterior.sizes["group"])
    nrows = int(np.ceil(len(knobs) / ncols))
    panel_h = 0.7 + 0.16 * n_groups
    label_w = 0.8 + 0.06 * max(len(str(g)) for g in means.posterior["group"].values)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(label_w + 2.4 * ncols, panel_h * nrows), squeeze=False
    )
    for i, (ax, knob) in enumerate(zip(axes.flat, knobs, strict=False)):
        lo, hi = bounds[i]
        adapter.plot_forest_by_group(
            means, knob, hdi_prob=hdi_prob, textsize=7, xlim=(float(lo), float(hi)), ax=ax
        )
        ax.set_title((labels or {}).get(knob, knob), fontsize=8)
        if i % ncols:
            ax.tick_params(axis="y", labelleft=False)
    for ax in list(axes.flat)[len(knobs) :]:
        ax.set_visible(False)
    _margins(
        fig, left=label_w, right=0.15, top=0.3, bottom=0.3, wspace=0.08, hspace=0.35 / panel_h * 2
    )
    return _png(fig)


def sbc_png(results) -> bytes:
    """SBC rank ECDFs of every parameter, one curve per run (sbi's plot)."""
    from technorhythm.diagnostics.plots import plot_sbc_ranks

    return _png(plot_sbc_ranks(results, None, kind="cdf", ncols=6))


def tarp_png(results) -> bytes:
    """TARP expected coverage against credibility, one curve per run."""
    from technorhythm.diagnostics.plots import plot_tarp

    return _png(plot_tarp(results, None))


def compact_png(data: bytes, *, max_width: int = 1100) -> bytes:
    """A PNG from disk re-encoded with the report's palette, at most ``max_width`` pixels wide."""
    from PIL import Image

    image = Image.open(io.BytesIO(data)).convert("RGB")
    if image.width > max_width:
        image = image.resize((max_width, round(image.height * max_width / image.width)))
    out = io.BytesIO()
    image.quantize(colors=COLOURS).save(out, format="PNG", optimize=True)
    return out.getvalue()
