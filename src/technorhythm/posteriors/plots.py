"""Drawing fits (the only module of this package that imports matplotlib).

:func:`plot_forest` draws the population posterior of every group from its population
table (:func:`technorhythm.posteriors.arviz_adapter.population_table`): one panel per
knob, one row per group; a thin line spans the range of 90% of the group's loops, a thick
line the HDI of the loops' mean value, a dot its posterior mean. Three artists per panel,
whatever the number of groups.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg", force=False)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from technorhythm.figures import save_figure  # noqa: E402
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
    """Forest plot from a population table (columns group, knob, mean, mean_hdi_<lo>%,
    mean_hdi_<hi>%, loops_5%, loops_95%).

    Groups in ``flagged`` (misspecified) are drawn in red. Axes span each knob's registry
    range. Returns the figure, or writes the PNG atomically and returns the path.
    """
    lo_col, hi_col = [c for c in summary.columns if c.startswith("mean_hdi_")][:2]
    knobs = list(dict.fromkeys(summary["knob"]))
    groups = list(dict.fromkeys(summary["group"]))
    flagged = flagged or set()
    colors = ["C3" if g in flagged else "C0" for g in groups]
    nrows = int(np.ceil(len(knobs) / ncols))
    panel = max(1.2, 0.16 * len(groups) + 0.3)  # panel height, inches
    gap, top, bottom = 0.6, 0.6, 0.35  # inches: between rows, above, below
    label_in = 0.065 * max(len(g) for g in groups) + 0.3  # room for the group labels
    width, height = 3.0 * ncols + label_in, nrows * panel + (nrows - 1) * gap + top + bottom
    # the panels' y axes are not shared: each panel past the first column gets no y ticks at
    # all, not a hidden tick per group to build and draw
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False)
    # fixed margins instead of tight_layout (which alone took 1.4 s for 13 panels)
    fig.subplots_adjust(
        left=label_in / width,
        right=0.98,
        top=1 - top / height,
        bottom=bottom / height,
        wspace=0.08,
        hspace=gap / panel,
    )
    y = np.arange(len(groups))[::-1]
    by_name = {k.name: k for k in KNOBS}
    for i, (ax, knob) in enumerate(zip(axes.flat, knobs, strict=False)):
        rows = summary[summary["knob"] == knob].set_index("group").loc[groups]
        ax.hlines(y, rows["loops_5%"], rows["loops_95%"], colors="0.6", lw=0.8)
        ax.hlines(y, rows[lo_col], rows[hi_col], colors=colors, lw=2.5)
        ax.scatter(rows["mean"], y, c=colors, s=10, zorder=3)
        knob_def = by_name.get(knob)
        ax.set_title(knob_def.label if knob_def else knob, fontsize=9)
        if knob_def is not None:
            ax.set_xlim(knob_def.low, knob_def.high)
        if i % ncols == 0:
            ax.set_yticks(y, groups, fontsize=7)
        else:
            ax.set_yticks([])
        ax.tick_params(axis="y", length=0)
        ax.set_ylim(-0.7, len(groups) - 0.3)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", lw=0.3, alpha=0.5)
    for ax in list(axes.flat)[len(knobs) :]:
        ax.set_visible(False)
    note = "; red = flagged as misspecified" if flagged else ""
    span = hdi_span(lo_col.removeprefix("mean_"), hi_col.removeprefix("mean_"))
    fig.suptitle(
        f"{title}: loops' mean value with its {span} HDI; grey: 90% of loops{note}",
        fontsize=10,
        y=1 - 0.12 / height,
    )
    return save_figure(fig, path, dpi=dpi)


def hdi_span(lo_col: str, hi_col: str) -> str:
    """'94%' from the column names 'hdi_3%' and 'hdi_97%'."""
    lo = float(lo_col.removeprefix("hdi_").removesuffix("%"))
    hi = float(hi_col.removeprefix("hdi_").removesuffix("%"))
    return f"{hi - lo:g}%"
