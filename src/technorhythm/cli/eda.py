"""``technorhythm eda DATASET --out DIR``: the corpus grammar in plots and tables.

Writes into DIR: ``density_histograms.png``, ``kick_hat_phase.png``,
``velocity.png``, ``microtiming.png``, ``pca_components.png``,
``nmf_components.png`` (K = 2–4), ``groups.csv`` (per-group feature means) and
``eda.json`` (phase tables, PCA explained variance, NMF errors), and prints
the main numbers.
"""

from __future__ import annotations

import argparse

__all__ = ["register"]


def _eda(args: argparse.Namespace) -> int:
    from technorhythm.cli.paths import check_writable
    from technorhythm.outdir import folder_lock

    check_writable(args.out, "--out", folder=True)
    with folder_lock(args.out):  # one writer per output folder
        return _eda_locked(args)


def _eda_locked(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from technorhythm.atomic import atomic_write_text
    from technorhythm.corpus.dataset import load_dataset
    from technorhythm.summaries.eda import run_eda
    from technorhythm.summaries.plots import write_eda_plots

    clips = load_dataset(args.dataset).clips
    by = None if args.by == "none" else args.by
    ks = tuple(int(k) for k in args.nmf_k.split(","))
    result = run_eda(clips, by=by, top_groups=args.top, n_pca=args.pca, nmf_ks=ks, seed=args.seed)
    out = Path(args.out)
    paths = write_eda_plots(result, out, dpi=args.dpi)
    atomic_write_text(out / "groups.csv", result.groups.to_csv(float_format="%.4f"))
    summary = {
        "n_clips": len(clips),
        "by": by,
        "beat_phase": {
            f"{g}|{i}": [round(float(v), 4) for v in row]
            for (g, i), row in result.beat_phase.iterrows()
        },
        "kick_hat_xcorr": {
            str(g): {str(d): round(float(v), 4) for d, v in row.items()}
            for g, row in result.kick_hat_xcorr.iterrows()
        },
        "pca_explained": [round(float(v), 4) for v in result.pca_explained],
        "nmf_relative_error": {str(k): round(err, 4) for k, (_, err) in result.nmf.items()},
    }
    atomic_write_text(out / "eda.json", json.dumps(summary, indent=2) + "\n")
    print(f"{len(clips)} clips; wrote {len(paths)} plots, groups.csv and eda.json to {out}")
    print("PCA explained variance:", ", ".join(f"{100 * v:.1f}%" for v in result.pca_explained))
    print("NMF relative error:", ", ".join(f"K={k}: {e:.3f}" for k, (_, e) in result.nmf.items()))
    print("kick→hat profile (all):", result.kick_hat_xcorr.loc["all"].round(3).to_dict())
    with_pd = result.groups.head(args.top + 1)
    cols = ["n_clips", "density_kick", "density_hh_closed", "snare_backbeat", "swing", "bar_repeat"]
    print(with_pd[cols].to_string(float_format=lambda v: f"{v:.3f}"))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``eda`` subcommand."""
    p = subparsers.add_parser(
        "eda",
        help="plots and tables of the corpus grammar (densities, phase, velocity, PCA/NMF)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dataset", help="dataset folder written by `technorhythm ingest`")
    p.add_argument("--out", required=True, help="output folder for the PNGs and tables")
    p.add_argument(
        "--by", default="style", help="metadata column for per-group breakdowns (default: style)"
    )
    p.add_argument("--top", type=int, default=6, help="largest groups drawn separately (6)")
    p.add_argument("--pca", type=int, default=4, help="PCA components (default 4)")
    p.add_argument("--nmf-k", default="2,3,4", help="comma-separated NMF sizes (default 2,3,4)")
    p.add_argument("--dpi", type=int, default=90, help="PNG resolution (default 90)")
    p.add_argument("--seed", type=int, default=0, help="seed of PCA/NMF initialisation")
    p.set_defaults(func=_eda)
