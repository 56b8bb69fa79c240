"""``technorhythm train``: simulate a budget of packs and train the population model."""

from __future__ import annotations

import argparse
import sys

from technorhythm.cli._args import default_threads, int_at_least

__all__ = ["register"]


_positive_int = int_at_least(1)
_non_negative_int = int_at_least(0)


def _unit_factor(text: str) -> float:
    """A fraction in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1]; got {text!r}") from None
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1]; got {text!r}")
    return value


def _embedding(text: str) -> tuple[int, ...]:
    """``"128,64"`` → (128, 64); ``"none"`` → ()."""
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        widths = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer widths such as 128,64 (or none); got {text!r}"
        ) from None
    if any(w < 1 for w in widths):
        raise argparse.ArgumentTypeError(f"layer widths must be positive; got {text!r}")
    return widths


def _passes(text: str) -> int | None:
    """``"none"`` → None (fully autoregressive); ``"2"`` → 2 (coupling)."""
    if text.strip().lower() == "none":
        return None
    value = _positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"passes must be none or at least 2; got {text!r}")
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
    from technorhythm.inference.population_training import train_population

    out = Path(args.out)
    if args.plot:
        check_writable(args.plot, "--plot")
    if (out / MANIFEST_NAME).exists() and not args.force:
        raise FileExistsError(f"{out} already holds a model; pass --force to replace it")
    pack = {
        "hidden_features": args.hidden_features,
        "num_transforms": args.num_transforms,
        "num_bins": args.num_bins,
        "embedding_features": list(args.embedding),
        "passes": args.passes,
        "affine_head": args.affine_head,
        "training_batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "stop_after_epochs": args.stop_after_epochs,
        "max_num_epochs": args.max_epochs,
        "anneal_epochs": args.anneal_epochs,
        "anneal_factor": args.anneal_factor,
    }
    loop = {
        "model": args.loop_model,
        "hidden_features": args.loop_hidden_features,
        "num_transforms": args.loop_transforms,
        "max_num_epochs": args.loop_max_epochs,
    }
    progress = not args.quiet and sys.stderr.isatty()
    estimator = train_population(
        args.budget,
        seed=args.seed,
        n_range=(args.n_min, args.n_max),
        loops_per_set=args.loops_per_set,
        workers=args.workers,
        scheduler=args.scheduler,
        pack=pack,
        loop=loop,
        out=str(args.out),
        progress=progress,
        threads=args.threads,
        pack_members=args.pack_members,
    )
    estimator.save(out, overwrite=args.force)
    ref = estimator.data_reference_
    plot_path = Path(args.plot) if args.plot else out / "training_loss.png"
    if not args.no_plot:
        plot_training_history(
            estimator.pack_.history_, plot_path, title=f"pack network ({args.budget} sets)"
        )
    if not args.quiet:
        print(f"model written to {out}")
        print(
            f"  simulated {args.budget} sets ({ref['plan']['n_sets']} packs, "
            f"{ref['n_loops']} loops for the loop network) in {ref['simulation_time_s']:.1f} s"
        )
        flows = {
            ("pack network" if j == 0 else f"pack network {j + 1}"): flow
            for j, flow in enumerate(estimator.pack_.members)
        }
        flows["loop network"] = estimator.loop_
        for name, flow in flows.items():
            print(
                f"  {name}: {flow.history_['epochs_trained']} epochs in "
                f"{flow.training_time_s_:.1f} s; best validation loss "
                f"{flow.history_['best_validation_loss']:.3f}"
            )
        if not args.no_plot:
            print(f"  loss plot: {plot_path}")
        print(f"  reproduce with: {ref['command']}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from technorhythm.inference.population_estimator import LOOP_DEFAULTS, PACK_DEFAULTS

    p = sub.add_parser(
        "train",
        help="train the population model (pack and loop networks) on simulated packs",
        description=(
            "Simulate BUDGET packs: hyperparameters ψ (a location and a spread per knob) from "
            "their uniform prior, a pack size N log-uniform over --n-min…--n-max, every "
            "loop's knobs from the censored-normal population, and the loops themselves. "
            "Train the pack network p(ψ | pack observation) and the loop network "
            "p(loop knobs | loop features, ψ) with sbi. Writes MODEL_DIR/pack.pt, loop.pt "
            "(state_dicts), manifest.json (configuration, seeds, budget, version hash of "
            "prior/simulator/summaries, SHA-256 of the weights, the reproducing command) "
            "and a loss plot."
        ),
        epilog="example: technorhythm train --budget 20000 --workers 2 --out models/population",
    )
    p.add_argument("--budget", type=_positive_int, required=True, help="number of simulated packs")
    p.add_argument("--out", required=True, metavar="MODEL_DIR", help="model directory to write")
    p.add_argument("--seed", type=int, default=0, help="master seed (default 0)")
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        help="processes simulating the packs, then training the networks side by side "
        "(the model does not depend on it)",
    )
    p.add_argument(
        "--threads",
        type=_positive_int,
        default=1,
        help="torch threads for training the networks (default 1, so that a recorded "
        "command without this option reproduces its model bit for bit; weights agree only "
        f"between runs with the same count). {default_threads()} CPUs are available here; "
        "2 threads trained the pack network 1.3x faster on a 2-core machine",
    )
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address for simulation")
    p.add_argument("--n-min", type=_positive_int, default=1, help="smallest pack size (default 1)")
    p.add_argument(
        "--n-max", type=_positive_int, default=1024, help="largest pack size (default 1024)"
    )
    p.add_argument(
        "--loops-per-set",
        type=_positive_int,
        default=4,
        help="loops of every simulated pack given to the loop network (default 4)",
    )
    g = p.add_argument_group("pack network")
    g.add_argument(
        "--pack-members",
        type=_positive_int,
        default=1,
        help="pack networks trained with different seeds on the same packs; the pack "
        "posterior is their equal mixture (default 1). With --workers 2 two members train "
        "side by side",
    )
    g.add_argument(
        "--hidden-features", type=_positive_int, default=PACK_DEFAULTS["hidden_features"]
    )
    g.add_argument("--num-transforms", type=_positive_int, default=PACK_DEFAULTS["num_transforms"])
    g.add_argument("--num-bins", type=_positive_int, default=PACK_DEFAULTS["num_bins"])
    g.add_argument(
        "--embedding",
        type=_embedding,
        default=tuple(PACK_DEFAULTS["embedding_features"]),
        metavar="W1,W2",
        help="hidden widths of a fully connected embedding of the observation, or none "
        f"(default {','.join(map(str, PACK_DEFAULTS['embedding_features'])) or 'none'})",
    )
    g.add_argument(
        "--passes",
        type=_passes,
        default=PACK_DEFAULTS["passes"],
        help="2: coupling transforms (fast to sample); none: fully autoregressive "
        f"(default {PACK_DEFAULTS['passes']})",
    )
    g.add_argument(
        "--affine-head",
        action="store_true",
        default=PACK_DEFAULTS["affine_head"],
        help="put a conditional location-scale transform before the pack network's splines "
        "(default off)",
    )
    g.add_argument("--batch-size", type=_positive_int, default=PACK_DEFAULTS["training_batch_size"])
    g.add_argument("--learning-rate", type=float, default=PACK_DEFAULTS["learning_rate"])
    g.add_argument(
        "--stop-after-epochs",
        type=_positive_int,
        default=PACK_DEFAULTS["stop_after_epochs"],
        help="early stopping patience on the validation loss",
    )
    g.add_argument("--max-epochs", type=_positive_int, default=PACK_DEFAULTS["max_num_epochs"])
    g.add_argument(
        "--anneal-epochs",
        type=_non_negative_int,
        default=PACK_DEFAULTS["anneal_epochs"],
        help="epochs at a smaller learning rate after the first phase stops (0: none)",
    )
    g.add_argument(
        "--anneal-factor",
        type=_unit_factor,
        default=PACK_DEFAULTS["anneal_factor"],
        help="learning rate of the annealing epochs, as a fraction of --learning-rate",
    )
    g = p.add_argument_group("loop network")
    g.add_argument(
        "--loop-model",
        choices=("mdn", "nsf"),
        default=LOOP_DEFAULTS["model"],
        help="mixture density network (fast) or neural spline flow",
    )
    g.add_argument(
        "--loop-hidden-features", type=_positive_int, default=LOOP_DEFAULTS["hidden_features"]
    )
    g.add_argument("--loop-transforms", type=_positive_int, default=LOOP_DEFAULTS["num_transforms"])
    g.add_argument("--loop-max-epochs", type=_positive_int, default=LOOP_DEFAULTS["max_num_epochs"])
    p.add_argument(
        "--plot", metavar="PNG", help="loss plot path (default MODEL_DIR/training_loss.png)"
    )
    p.add_argument("--no-plot", action="store_true", help="do not write the loss plot")
    p.add_argument("--force", action="store_true", help="replace an existing model in MODEL_DIR")
    p.add_argument("--quiet", action="store_true", help="no progress bars or summary")
    p.set_defaults(func=_train)
