"""``technorhythm check``: posterior predictive checks of a fit folder."""

from __future__ import annotations

import argparse

from technorhythm.cli._args import add_check_options, int_at_least

__all__ = ["register"]


def _check(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from technorhythm.posteriors import check_fit, save_checks
    from technorhythm.posteriors.check_io import format_checks

    out = Path(args.out)
    if (out / "check.json").exists() and not args.force:
        raise FileExistsError(f"{out} already holds a check; pass --force to replace it")
    start = time.perf_counter()
    result = check_fit(
        args.fit_dir,
        args.dataset,
        seed=args.seed,
        n_predictive=args.n_predictive,
        n_verdict_sets=args.verdict_sets,
        alpha=args.alpha,
        progress=not args.no_progress,
    )
    save_checks(result, out, plots=not args.no_plot)
    print(format_checks(result.table()))
    print(
        f"checked {len(result.groups)} group(s) in {time.perf_counter() - start:.1f} s; "
        f"written to {out}"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="posterior predictive checks: do loops generated from a fit measure like the pack?",
        description=(
            "For every group of FIT_DIR, compare the real clips with loops simulated from the "
            "group's posterior and from the prior: C2ST accuracy by feature family, composite "
            "D against the real-half vs real-half noise floor, onset/velocity/timing/bar-"
            "repeat histograms against the real bootstrap band, MGEval overlap, and the "
            "calibrated misspecification verdict graded by aspect. Writes check.json, "
            "check.csv and plots to --out."
        ),
    )
    p.add_argument("fit_dir", metavar="FIT_DIR", help="a folder from `technorhythm fit`")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument(
        "--dataset",
        metavar="DATASET_DIR",
        help="the dataset the fit was made from (default: the one recorded in fit.json)",
    )
    p.add_argument("--seed", type=int_at_least(0), help="master seed (default: the fit's own seed)")
    add_check_options(p)
    p.add_argument("--no-plot", action="store_true", help="do not draw the PNG figures")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--force", action="store_true", help="replace an existing check in --out")
    p.set_defaults(func=_check)
