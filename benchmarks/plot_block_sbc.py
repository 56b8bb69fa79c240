"""Plot the 90 % HDI coverage per knob from ``hit_block_sbc.py --out`` tables.

Run (from the repository root)::

    .venv/bin/python benchmarks/plot_block_sbc.py CSV [CSV ...] --out PNG

One panel for all packs, one for the packs whose truth lies within 2 % of a bound; per knob
one marker per pack size for the block's draws (filled) and the network's on the same packs
(open, the baseline measured in the same run), against the 0.85–0.95 band. The last line
printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from technorhythm.figures import save_figure  # noqa: E402

MARKERS = ("o", "s", "^", "D", "v")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tables", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    table = pd.concat([pd.read_csv(p) for p in args.tables], ignore_index=True)
    knobs = list(dict.fromkeys(table.knob))
    sizes = sorted(table.n_clips.unique())
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    panels = (("coverage90", "all packs"), ("coverage90_near", "truth within 2 % of a bound"))
    for ax, (column, title) in zip(axes, panels, strict=True):
        ax.axhspan(0.85, 0.95, color="0.9", label="target 0.85–0.95")
        for i, n in enumerate(sizes):
            rows = table[table.n_clips == n].set_index("knob").reindex(knobs)
            x = np.arange(len(knobs)) + (i - (len(sizes) - 1) / 2) * 0.22
            marker = MARKERS[i % len(MARKERS)]
            ax.scatter(x, rows[column], marker=marker, s=22, label=f"block, N = {n}")
            ax.scatter(
                x, rows[f"network_{column}"], marker=marker, s=14, facecolors="none",
                edgecolors="0.5", label="network, same packs" if i == 0 else None,
            )  # fmt: skip
        ax.set_xticks(np.arange(len(knobs)), knobs, rotation=45, ha="right", fontsize=8)
        ax.set_title(f"90 % HDI coverage of E[θ], {title}", fontsize=9)
        lowest = float(np.nanmin(table[[c for c, _ in panels]].to_numpy()))
        ax.set_ylim(min(0.4, lowest), 1.02)
    axes[0].set_ylabel("coverage")
    axes[0].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, args.out, dpi=90)
    print(f"wrote {args.out}")
    summary = {
        "benchmark": "plot_block_sbc",
        "out": str(args.out),
        "sizes": [int(n) for n in sizes],
        "coverage90_range": [float(table.coverage90.min()), float(table.coverage90.max())],
        "network_coverage90_range": [
            float(table.network_coverage90.min()),
            float(table.network_coverage90.max()),
        ],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
