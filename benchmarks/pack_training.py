"""Benchmark: how fast one pack network learns, on the shipped model's own training data.

Run (from the repository root)::

    .venv/bin/python benchmarks/pack_training.py [--budget 100000] [--cache FILE.npz] \
        [--batch-size 256] [--learning-rate 0.001] [--max-epochs 15] [--anneal-epochs 5] \
        [--anneal-factor 0.2] [--threads 1] [--member 0] [--num-transforms T] [--num-bins B]

The training sets are simulated with the shipped plan (``--budget`` sets, seed 0, 1–1024
loops, log-uniform) and kept in ``--cache`` for later runs. The pack network of the
population model (the shipped architecture, read from the shipped model's manifest) is
trained twice in the same run, side by side in two processes when both use one thread:

* **baseline**: the shipped schedule (from the same manifest, its annealing included);
* **candidate**: the schedule given on the command line, and optionally a cheaper flow
  (``--num-transforms``, ``--num-bins``).

With the same ``--member`` both start from the same weights and validation split, so their
validation losses compare directly (member m uses the seed the shipped ensemble gives its
m-th network). Prints both validation curves, the training times, the candidate's time and
best loss against the baseline's, and ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def shipped_network() -> tuple[dict, dict]:
    """(schedule, architecture) of the shipped pack network, read from its manifest."""
    from technorhythm.inference.packaged import SHIPPED_DIR
    from technorhythm.inference.persistence import MANIFEST_NAME

    config = json.loads((SHIPPED_DIR / MANIFEST_NAME).read_text())["config"]["pack"]
    keys = ("training_batch_size", "learning_rate", "max_num_epochs")
    schedule = {k: config[k] for k in keys}
    schedule["anneal_epochs"] = config.get("anneal_epochs", 0)  # models from before annealing
    schedule["anneal_factor"] = config.get("anneal_factor", 0.2)
    architecture = {k: v for k, v in config.items() if k not in schedule}
    return schedule, architecture


def training_data(budget: int, cache: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """(t, x): the pack network's targets (ψ in the flow's logit space) and set summaries."""
    if cache is not None and cache.exists():
        data = np.load(cache)
        return data["t"], data["x"]
    from technorhythm.inference.flows import BoxLogit
    from technorhythm.inference.population_data import PopulationPlan, simulate_population_sets
    from technorhythm.inference.population_estimator import PopulationEstimator

    population = PopulationEstimator().population
    start = time.perf_counter()
    data = simulate_population_sets(PopulationPlan(budget, 0, (1, 1024), 1), population, workers=2)
    print(f"simulated {budget} sets in {time.perf_counter() - start:.1f} s", flush=True)
    t = BoxLogit(population.hyper_bounds).forward(data.psi)
    if cache is not None:
        np.savez(cache, t=t, x=data.x_set)
    return t, data.x_set


def train_one(
    schedule: dict, architecture: dict, threads: int, member: int, t: np.ndarray, x: np.ndarray
) -> dict:
    """Train one pack network; its validation curve, best loss and time."""
    import warnings

    from technorhythm.inference.flows import ConditionalFlow

    seed = 0 if member == 0 else member + 1  # as PopulationEstimator seeds its members
    flow = ConditionalFlow(**architecture, **schedule, seed=seed, torch_threads=threads)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Maximum number of epochs")
        flow.fit(t, x)
    h = flow.history_
    return {
        "schedule": schedule,
        "architecture": architecture,
        "threads": threads,
        "seconds": round(time.perf_counter() - start, 1),
        "epochs": h["epochs_trained"],
        "anneal_from_epoch": h["anneal_from_epoch"],
        "best_validation_loss": round(h["best_validation_loss"], 3),
        "validation_loss": [round(v, 2) for v in h["validation_loss"]],
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=int, default=100_000)
    parser.add_argument("--cache", type=Path, help="npz file for the simulated training sets")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--max-epochs", type=int, default=15)
    parser.add_argument("--anneal-epochs", type=int, default=5)
    parser.add_argument("--anneal-factor", type=float, default=0.2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the candidate")
    parser.add_argument("--member", type=int, default=0, help="ensemble member (seed)")
    parser.add_argument("--num-transforms", type=int, help="candidate's coupling transforms")
    parser.add_argument("--num-bins", type=int, help="candidate's spline bins")
    args = parser.parse_args(argv)
    t, x = training_data(args.budget, args.cache)
    candidate = dict(
        training_batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        max_num_epochs=args.max_epochs,
        anneal_epochs=args.anneal_epochs,
        anneal_factor=args.anneal_factor,
    )
    shipped_schedule, shipped_architecture = shipped_network()
    cheaper = {"num_transforms": args.num_transforms, "num_bins": args.num_bins}
    arch = shipped_architecture | {k: v for k, v in cheaper.items() if v is not None}
    jobs = [(shipped_schedule, shipped_architecture, 1), (candidate, arch, args.threads)]
    if args.threads == 1:  # side by side, as the shipped command trains its two networks
        from joblib import Parallel, delayed

        runs = Parallel(n_jobs=2)(
            delayed(train_one)(s, a, n, args.member, t, x) for s, a, n in jobs
        )
    else:
        runs = [train_one(s, a, n, args.member, t, x) for s, a, n in jobs]
    base, cand = runs
    for label, run in (("baseline", base), ("candidate", cand)):
        print(f"{label}: {run['schedule']} {run['architecture']}, {run['threads']} thread(s)")
        print(f"  validation loss by epoch: {run['validation_loss']}")
        print(
            f"  best {run['best_validation_loss']} nats, {run['epochs']} epochs, {run['seconds']} s"
        )
    ratio = cand["seconds"] / base["seconds"]
    gain = base["best_validation_loss"] - cand["best_validation_loss"]
    print(f"candidate vs baseline: time ×{ratio:.2f}, best validation loss {gain:+.2f} nats better")
    result = {"benchmark": "pack_training", "budget": args.budget, "member": args.member}
    result.update(baseline=base, candidate=cand, time_ratio=round(ratio, 3))
    result["loss_gain_nats"] = round(gain, 3)
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
