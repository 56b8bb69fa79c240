"""``technorhythm report``: the diagnostic report of a fit as one self-contained HTML file."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def _report(args: argparse.Namespace) -> int:
    import shlex
    import sys

    from technorhythm.report import build_report

    if args.out.exists() and not args.force:
        raise FileExistsError(f"{args.out} exists; pass --force to replace it")
    result = build_report(
        args.fit_dir,
        args.out,
        model_dir=args.model,
        run_checks=not args.no_run_checks,
        dataset=args.dataset,
        command=shlex.join(["technorhythm", *sys.argv[1:]])
        if sys.argv[1:2] == ["report"]
        else None,
        progress=not args.quiet,
    )
    for line in result.notes:
        print(f"note: {line}")
    print(
        f"report written to {result.path} ({result.n_bytes / 1e6:.1f} MB) in "
        f"{result.timing['total_s']:.1f} s; open it in a browser"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from pathlib import Path

    p = sub.add_parser(
        "report",
        help="a diagnostic report of a fit: one self-contained HTML file to open in a browser",
        description=(
            "Write an HTML report of FIT_DIR (figures embedded, no network needed): the "
            "dataset, groups, model and commands; the groups ranked by fit quality and a "
            "forest plot per knob; per group the posterior marginals (ArviZ), which knobs "
            "the data identifies, which trade off (correlations, merge candidates) and the "
            "posterior predictive checks with the misspecification verdict; and the "
            "calibration of the model used, from its validation record. Checks missing from "
            "FIT_DIR are run first and saved in FIT_DIR/check."
        ),
    )
    p.add_argument("fit_dir", metavar="FIT_DIR", help="a folder from `technorhythm fit`")
    p.add_argument("--out", required=True, type=Path, metavar="HTML", help="file to write")
    p.add_argument(
        "--model",
        metavar="MODEL_DIR",
        help="the model folder the fit used (default: the shipped model, if it is that one)",
    )
    p.add_argument(
        "--dataset",
        metavar="DATASET_DIR",
        help="the fitted dataset, to run missing checks (default: the one in fit.json)",
    )
    p.add_argument(
        "--no-run-checks",
        action="store_true",
        help="do not run the posterior predictive checks when the fit has none",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.set_defaults(func=_report)
