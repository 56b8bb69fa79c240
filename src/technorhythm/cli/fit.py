"""``technorhythm fit``: population posteriors for the packs/styles/splits of a dataset."""

from __future__ import annotations

import argparse

from technorhythm.cli._args import add_check_options, default_threads, int_at_least

__all__ = ["register"]


def _fit(args: argparse.Namespace) -> int:
    from technorhythm.cli.paths import check_writable
    from technorhythm.outdir import folder_lock

    check_writable(args.out, "--out", folder=True)
    with folder_lock(args.out):  # refuse a second writer now, not after the fit
        return _fit_locked(args)


def _fit_locked(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from technorhythm.corpus import load_dataset
    from technorhythm.inference import packaged
    from technorhythm.inference.population_estimator import PopulationEstimator
    from technorhythm.posteriors import check_fit, fit_groups, format_summary, save_checks, save_fit
    from technorhythm.posteriors.check_io import format_checks
    from technorhythm.posteriors.report import tables

    out = Path(args.out)
    if (out / "fit.json").exists() and not args.force:
        raise FileExistsError(f"{out} already holds a fit; pass --force to replace it")
    start = time.perf_counter()
    dataset = load_dataset(args.dataset)
    estimator = PopulationEstimator.load(args.model) if args.model else packaged.load_shipped()
    loaded = time.perf_counter()
    result = fit_groups(
        dataset,
        estimator=estimator,
        by=args.by,
        split=args.split,
        n_samples=args.n_samples,
        seed=args.seed,
        n_cap=args.n_cap,
        min_clips=args.min_clips,
        add_all=args.add_all,
        loops=not args.no_loops,
        threads=args.threads,
        velocities=args.velocities,
        timing=args.timing,
        onsets=args.onsets,
        kicks=args.kicks,
    )
    fitted = time.perf_counter()
    checks = None
    if not args.no_check:
        checks = check_fit(
            result,
            dataset,
            n_predictive=args.n_predictive,
            n_verdict_sets=args.verdict_sets,
            alpha=args.alpha,
        )
    checked = time.perf_counter()
    table = checks.table() if checks is not None else None
    flagged = set(table.loc[table["flagged"], "group"]) if table is not None else None
    extras = []
    if checks is not None:
        extras.append(lambda folder: save_checks(checks, folder / "check", plots=not args.no_plot))
    idata = result.to_inference_data()
    frames = tables(result, idata)  # written by save_fit and printed below: made once
    record = save_fit(
        result,
        out,
        dataset=str(args.dataset),
        forest=not args.no_plot,
        overwrite=args.force,
        flagged=flagged,
        extras=extras,
        idata=idata,
        frames=frames,
    )
    if args.report:
        from technorhythm.report import build_report

        report = build_report(out, args.report, model_dir=args.model, run_checks=False)
    done = time.perf_counter()
    print(format_summary(result, checks=table, frames=frames))
    if not result.skipped.empty:
        print("not fitted:")
        print(result.skipped.to_string(index=False))
    if table is not None:
        print("\nposterior predictive checks (details in check/):")
        print(format_checks(table))
    print(
        f"fitted {record['n_groups']} group(s), {record['n_clips']} clips, by {args.by}"
        f"{' + all' if args.add_all and args.by != 'all' else ''} in "
        f"{fitted - loaded:.1f} s, checked in {checked - fitted:.1f} s "
        f"(load {loaded - start:.1f} s, write {done - checked:.1f} s); "
        f"model {record['model']['model_hash']}; written to {out}"
    )
    if args.report:
        print(f"report: {report.path} (open it in a browser)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "fit",
        help="population posteriors for each pack/style/split of a dataset (or all of it)",
        description=(
            "Fit DATASET_DIR with a trained population model (default: the shipped one). "
            "Each group of clips (--by) is a population of loops: its posterior holds a "
            "location and a spread per knob (the loops' knobs are a normal censored to the "
            "knob range, so whole groups can sit on a bound), and every loop's own knobs "
            "(partial pooling), as ArviZ InferenceData (netCDF), with tables per group "
            "(summary.csv, population.csv) and per loop (loops.csv). Then the posterior "
            "predictive checks of `technorhythm check` run on every group (written to "
            "OUT/check; --no-check skips them), with the misspecification verdict. With "
            "--add-all the whole corpus is checked as packs within the corpus. Groups "
            "larger than the model's training range need --n-cap (a deliberately tempered "
            "posterior)."
        ),
    )
    p.add_argument("dataset", metavar="DATASET_DIR", help="a folder from `technorhythm ingest`")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument(
        "--by",
        choices=("pack", "style", "split", "all"),
        default="pack",
        help="what a group is (default pack; all = the whole dataset as one set)",
    )
    p.add_argument(
        "--add-all",
        action="store_true",
        help=(
            "also fit all selected clips as one extra group 'all' (packs and corpus in one "
            "go; the corpus is checked as packs within the corpus)"
        ),
    )
    p.add_argument(
        "--split",
        choices=("train", "valid", "test"),
        help="only use the clips of this split (needs `technorhythm split` first)",
    )
    p.add_argument(
        "--model",
        metavar="MODEL_DIR",
        help="population model from `technorhythm train` (default: shipped)",
    )
    p.add_argument(
        "--n-cap",
        type=int_at_least(1),
        metavar="N",
        help=(
            "condition groups larger than the training range on N clips (a tempered, wider "
            "posterior); without it such groups are an error"
        ),
    )
    p.add_argument(
        "--n-samples",
        type=int_at_least(1),
        default=400,
        help="posterior draws per group and per loop (default 400)",
    )
    p.add_argument(
        "--no-loops",
        action="store_true",
        help="keep the groups' hyperparameters only, without every loop's own knobs",
    )
    p.add_argument(
        "--threads",
        type=int_at_least(1),
        default=default_threads(),
        help=(
            "torch threads for drawing every loop's knobs (default: the CPUs this process may "
            f"use, at most 4: {default_threads()} here; draws agree across counts to float32 "
            "rounding)"
        ),
    )
    p.add_argument("--seed", type=int_at_least(0), default=0, help="master seed (default 0)")
    p.add_argument(
        "--velocities",
        choices=("likelihood", "network"),
        default="likelihood",
        help="read the velocity knobs from the hits by their likelihood (default), or from "
        "the set summaries by the network",
    )
    p.add_argument(
        "--timing",
        choices=("likelihood", "network"),
        default="likelihood",
        help="read the timing knobs (swing, humanize, both pushes) from the hits' offsets by "
        "their likelihood (default), or from the set summaries by the network",
    )
    p.add_argument(
        "--onsets",
        choices=("likelihood", "network"),
        default="likelihood",
        help="read the onset chances of snare, hats and cymbals (backbeat, ghosts, hats, open "
        "hats, ride, crash) from which steps play, by their likelihood (default), or from the "
        "set summaries by the network",
    )
    p.add_argument(
        "--kicks",
        choices=("likelihood", "network"),
        default="likelihood",
        help="read the kick's base pulses and extra kicks (kick_pulses, kick_extra, kick_late) "
        "from which steps play by their likelihood (default), or from the set summaries by "
        "the network",
    )
    p.add_argument(
        "--min-clips",
        type=int_at_least(1),
        default=1,
        help="skip (and report) groups with fewer clips (default 1)",
    )
    p.add_argument("--no-check", action="store_true", help="skip the posterior predictive checks")
    add_check_options(p)
    p.add_argument(
        "--report",
        metavar="HTML",
        help="also write the diagnostic report (`technorhythm report`) to this HTML file",
    )
    p.add_argument("--no-plot", action="store_true", help="do not draw forest.png")
    p.add_argument("--force", action="store_true", help="replace an existing fit in --out")
    p.set_defaults(func=_fit)
