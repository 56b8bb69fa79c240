"""``technorhythm train``: simulate a training budget and fit the posterior estimator."""

from __future__ import annotations

import argparse
import sys

__all__ = ["register"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def _train(args: argparse.Namespace) -> int:
    from technorhythm.cli.paths import check_writable
    from technorhythm.outdir import folder_lock

    check_writable(args.out, "--out", folder=True)
    with folder_lock(args.out):  # one writer per model folder
        return _train_locked(args)


def _train_locked(args: argparse.Namespace) -> int:
    from pathlib import Path

    from technorhythm.cli.paths import check_writable
    from technorhythm.inference.persistence import MANIFEST_NAME
    from technorhythm.inference.plots import plot_training_history
    from technorhythm.inference.training import train_estimator

    out = Path(args.out)
    if args.plot:
        check_writable(args.plot, "--plot")
    if (out / MANIFEST_NAME).exists() and not args.force:
        raise FileExistsError(f"{out} already holds a model; pass --force to replace it")
    params = {
        "estimator": args.estimator,
        "hidden_features": args.hidden_features,
        "num_transforms": args.num_transforms,
        "num_bins": args.num_bins,
        "training_batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "stop_after_epochs": args.stop_after_epochs,
        "max_num_epochs": args.max_epochs,
        "validation_fraction": args.validation_fraction,
        "unconstrained": not args.bounded,
    }
    progress = not args.quiet and sys.stderr.isatty()
    estimator = train_estimator(
        args.budget,
        seed=args.seed,
        n_range=(args.n_min, args.n_max),
        workers=args.workers,
        scheduler=args.scheduler,
        estimator_params=params,
        out=str(args.out),
        progress=progress,
    )
    estimator.save(out, overwrite=args.force)
    ref = estimator.data_reference_
    history = estimator.training_history_
    plot_path = Path(args.plot) if args.plot else out / "training_loss.png"
    if not args.no_plot:
        plot_training_history(history, plot_path, title=f"NPE training ({args.budget} sets)")
    if not args.quiet:
        print(f"model written to {out}")
        print(
            f"  simulated {args.budget} sets ({ref['n_clips']} clips) in "
            f"{ref['simulation_time_s']:.1f} s"
        )
        print(
            f"  trained {history['epochs_trained']} epochs in {estimator.training_time_s_:.1f} s;"
            f" best validation loss {history['best_validation_loss']:.3f}"
        )
        if not args.no_plot:
            print(f"  loss plot: {plot_path}")
        print(f"  reproduce with: {ref['command']}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from technorhythm.inference.estimator import ESTIMATORS

    p = sub.add_parser(
        "train",
        help="train the neural posterior estimator on simulated sets",
        description=(
            "Simulate BUDGET sets of clips (θ from the uniform knob prior, set size N "
            "log-uniform over --n-min…--n-max), summarise each set, and train sbi's neural "
            "posterior estimation on (θ, summaries + log2(N)/10). Writes MODEL_DIR/model.pt "
            "(state_dict) and MODEL_DIR/manifest.json (configuration, seeds, budget, version "
            "hash of prior/simulator/summaries, SHA-256 of the weights) and a loss plot."
        ),
        epilog="example: technorhythm train --budget 20000 --workers 2 --out models/npe",
    )
    p.add_argument("--budget", type=_positive_int, required=True, help="number of simulated sets")
    p.add_argument("--out", required=True, metavar="MODEL_DIR", help="model directory to write")
    p.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    p.add_argument("--workers", type=_positive_int, default=1, help="simulation processes")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address for simulation")
    p.add_argument("--n-min", type=_positive_int, default=1, help="smallest set size (default 1)")
    p.add_argument(
        "--n-max", type=_positive_int, default=1024, help="largest set size (default 1024)"
    )
    g = p.add_argument_group("estimator")
    g.add_argument("--estimator", choices=ESTIMATORS, default="nsf", help="density estimator")
    g.add_argument("--hidden-features", type=_positive_int, default=64)
    g.add_argument("--num-transforms", type=_positive_int, default=5)
    g.add_argument("--num-bins", type=_positive_int, default=8, help="spline bins (nsf)")
    g.add_argument("--batch-size", type=_positive_int, default=512)
    g.add_argument("--learning-rate", type=float, default=1e-3)
    g.add_argument(
        "--stop-after-epochs",
        type=_positive_int,
        default=20,
        help="early stopping patience on the validation loss",
    )
    g.add_argument("--max-epochs", type=_positive_int, default=1000)
    g.add_argument("--validation-fraction", type=float, default=0.1)
    g.add_argument(
        "--bounded", action="store_true", help="train on z-scored θ instead of logit-transformed θ"
    )
    p.add_argument(
        "--plot", metavar="PNG", help="loss plot path (default MODEL_DIR/training_loss.png)"
    )
    p.add_argument("--no-plot", action="store_true", help="do not write the loss plot")
    p.add_argument("--force", action="store_true", help="replace an existing model in MODEL_DIR")
    p.add_argument("--quiet", action="store_true", help="no progress bars or summary")
    p.set_defaults(func=_train)
