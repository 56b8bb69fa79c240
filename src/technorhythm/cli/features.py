"""``technorhythm features`` and ``technorhythm targets``: per-clip features and corpus targets.

``features DATASET --out features.parquet`` writes one row per clip: the clip
metadata (``clip_id``, ``source``, ``pack``, ``style``, …) followed by every
feature of :data:`technorhythm.summaries.FEATURE_NAMES`.

``targets DATASET --out corpus_targets.parquet --by pack`` writes the pooled
set-level targets of the whole dataset (set ``all``) and of each pack (or any
other metadata column), with bootstrap 95 % intervals from resampling clips.
"""

from __future__ import annotations

import argparse

__all__ = ["register"]


def _load_clips(path: str):
    from technorhythm.corpus.dataset import load_dataset

    return load_dataset(path).clips


def _features(args: argparse.Namespace) -> int:
    import numpy as np

    from technorhythm.cli.paths import check_writable
    from technorhythm.summaries.features import FEATURE_NAMES, features_frame, save_features

    check_writable(args.out, "--out")
    clips = _load_clips(args.dataset)
    frame = features_frame(clips, fill=np.nan if args.nan else 0.0, meta=True)
    save_features(frame, args.out)
    print(
        f"wrote {args.out}: {len(frame)} clips × {len(FEATURE_NAMES)} features "
        f"(+{frame.shape[1] - len(FEATURE_NAMES)} metadata columns)"
    )
    return 0


def _targets(args: argparse.Namespace) -> int:
    from technorhythm.cli.paths import check_writable
    from technorhythm.summaries.targets import corpus_targets, save_targets

    check_writable(args.out, "--out")
    clips = _load_clips(args.dataset)
    by = None if args.by == "none" else args.by
    frame = corpus_targets(clips, by=by, n_boot=args.n_boot, ci=args.ci, seed=args.seed)
    save_targets(frame, args.out)
    n_sets = frame["set"].nunique()
    print(
        f"wrote {args.out}: {n_sets} sets × {frame['target'].nunique()} targets, "
        f"{args.n_boot} bootstrap resamples, {100 * args.ci:g}% intervals"
    )
    overall = frame[frame["set"] == "all"].set_index("target")
    for name in ("density_kick", "density_snare", "density_hh_closed", "swing", "bar_repeat"):
        row = overall.loc[name]
        print(f"  all  {name:<18} {row.estimate:8.4f}  [{row.ci_low:.4f}, {row.ci_high:.4f}]")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``features`` and ``targets`` subcommands."""
    p = subparsers.add_parser(
        "features",
        help="per-clip feature table (one row per clip) of an ingested dataset",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dataset", help="dataset folder written by `technorhythm ingest`")
    p.add_argument("--out", required=True, help="output Parquet file (features.parquet)")
    p.add_argument(
        "--nan",
        action="store_true",
        help="write NaN for undefined values (e.g. velocity of a silent instrument) instead of 0",
    )
    p.set_defaults(func=_features)

    t = subparsers.add_parser(
        "targets",
        help="set-level corpus targets with bootstrap confidence intervals",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    t.add_argument("dataset", help="dataset folder written by `technorhythm ingest`")
    t.add_argument("--out", required=True, help="output Parquet file (corpus_targets.parquet)")
    t.add_argument(
        "--by",
        default="pack",
        help="metadata column defining the sets besides 'all' (pack, style, split, …; "
        "'none' for the overall set only); default: pack",
    )
    t.add_argument("--n-boot", type=int, default=200, help="bootstrap resamples (default 200)")
    t.add_argument("--ci", type=float, default=0.95, help="interval coverage (default 0.95)")
    t.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    t.set_defaults(func=_targets)
