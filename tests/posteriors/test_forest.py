"""The forest plot of a fit: one panel per knob, one row per group, labelled once per row."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from technorhythm.posteriors.plots import plot_forest
from technorhythm.simulator.knobs import KNOBS


def _population(groups, knobs):
    rows = []
    for g, group in enumerate(groups):
        for knob in knobs:
            mid, width = 0.5 * (knob.low + knob.high), knob.high - knob.low
            rows.append(
                {
                    "group": group,
                    "knob": knob.name,
                    "mean": mid + 0.01 * g * width,
                    "mean_hdi_3%": mid - 0.1 * width,
                    "mean_hdi_97%": mid + 0.1 * width,
                    "loops_5%": knob.low,
                    "loops_95%": knob.high,
                }
            )
    return pd.DataFrame(rows)


def test_groups_are_labelled_in_the_first_column_only_and_rows_line_up():
    groups, knobs = ["warehouse", "detroit", "industrial"], KNOBS[:6]
    fig = plot_forest(_population(groups, knobs), ncols=4)
    try:
        shown = [ax for ax in fig.axes if ax.get_visible()]
        assert len(shown) == len(knobs)
        for i, ax in enumerate(shown):
            labels = [t.get_text() for t in ax.get_yticklabels()]
            assert labels == (groups if i % 4 == 0 else [])
            assert ax.get_ylim() == shown[0].get_ylim()
            assert ax.get_xlim() == (knobs[i].low, knobs[i].high)
        # the first group on top: its row has the largest y
        first = shown[0]
        assert [t.get_text() for t in first.get_yticklabels()][0] == "warehouse"
        assert list(first.get_yticks()) == [2, 1, 0]
    finally:
        plt.close(fig)
