"""Drawing fits (the only module of this package that imports matplotlib).

:func:`plot_forest` draws the same picture as ``az.plot_forest(idata, combined=True)`` —
one panel per knob, one row per group, posterior mean and HDI — from the summary table,
in a fraction of the time (two artists per panel instead of several per group).
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from technorhythm.atomic import atomic_path  # noqa: E402
from technorhythm.simulator.knobs import KNOBS  # noqa: E402

__all__ = ["plot_forest", "hdi_span"]


def plot_forest(
    summary: pd.DataFrame,
    path: str | os.PathLike[str] | None = None,
    *,
    title: str = "posterior",
    flagged: set[str] | None = None,
    ncols: int = 4,
    dpi: int = 90,
):
    """Forest plot from a summary table (columns group, knob, mean, hdi_<lo>%, hdi_<hi>%).

    Groups in ``flagged`` (misspecified) are drawn in red. Axes span each knob's registry
    range. Returns the figure, or writes the PNG atomically and returns the path.
    """
    lo_col, hi_col = [c for c in summary.columns if c.startswith("hdi_")][:2]
    knobs = list(dict.fromkeys(summary["knob"]))
    groups = list(dict.fromkeys(summary["group"]))
    flagged = flagged or set()
    colors = ["C3" if g in flagged else "C0" for g in groups]
    nrows = int(np.ceil(len(knobs) / ncols))
    height = max(1.6, 0.16 * len(groups) + 0.9)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.0 * ncols + 1.5, height * nrows), squeeze=False, sharey=True
    )
    y = np.arange(len(groups))[::-1]
    by_name = {k.name: k for k in KNOBS}
    for ax, knob in zip(axes.flat, knobs, strict=False):
        rows = summary[summary["knob"] == knob].set_index("group").loc[groups]
        ax.hlines(y, rows[lo_col], rows[hi_col], colors=colors, lw=1.5)
        ax.scatter(rows["mean"], y, c=colors, s=10, zorder=3)
        knob_def = by_name.get(knob)
        ax.set_title(knob_def.label if knob_def else knob, fontsize=9)
        if knob_def is not None:
            ax.set_xlim(knob_def.low, knob_def.high)
        ax.set_yticks(y, groups, fontsize=7)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", lw=0.3, alpha=0.5)
    for ax in list(axes.flat)[len(knobs) :]:
        ax.set_visible(False)
    note = "; red = flagged as misspecified" if flagged else ""
    fig.suptitle(f"{title}: mean and HDI ({hdi_span(lo_col, hi_col)}){note}", fontsize=10)
    fig.tight_layout()
    if path is None:
        return fig
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)
    return Path(path)


def hdi_span(lo_col: str, hi_col: str) -> str:
    """'94%' from the column names 'hdi_3%' and 'hdi_97%'."""
    lo = float(lo_col.removeprefix("hdi_").removesuffix("%"))
    hi = float(hi_col.removeprefix("hdi_").removesuffix("%"))
    return f"{hi - lo:g}%"
