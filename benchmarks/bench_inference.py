"""Benchmark: training-set simulation, NPE training and posterior sampling.

Run: ``.venv/bin/python benchmarks/bench_inference.py [--sets 1000] [--train-sets 3000]``

Measures, on this machine:

* **simulation**: :func:`technorhythm.inference.simulate_training_set` of ``--sets`` sets
  (set sizes log-uniform over 1…1024, about 148 clips per set on average) with 1 worker
  (the baseline) and with ``--workers`` joblib processes: seconds per training set, clips/s,
  and the speed-up of the parallel run over the baseline; plus the projected simulation time
  of the shipped model's budget;
* **training**: a :class:`PosteriorEstimator` with the shipped model's architecture trained
  on ``--train-sets`` simulated sets for ``--epochs`` epochs: seconds per epoch and per
  1000 training examples per epoch; plus the shipped model's own recorded training time;
* **sampling**: posterior samples per second of the shipped model, for one observation
  (``sample``) and for 100 observations at once (``sample_batched``);
* **one fit**: observe + 1000 samples for one set of 256 clips (the per-group cost of
  ``technorhythm fit``).

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

from technorhythm.inference import (
    PosteriorEstimator,
    TrainingPlan,
    observe,
    simulate_training_set,
)
from technorhythm.inference.packaged import load_shipped
from technorhythm.simulator import simulate


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def bench_simulation(n_sets: int, workers: int, shipped_budget: int) -> dict:
    n_clips = int(TrainingPlan(n_sets=n_sets, seed=101).draw()[1].sum())
    simulate_training_set(20, seed=100)  # warm-up (imports, caches)
    (_, x1), t1 = _timed(simulate_training_set, n_sets, seed=101, workers=1)
    (_, xw), tw = _timed(simulate_training_set, n_sets, seed=101, workers=workers)
    assert np.array_equal(x1, xw), "parallel simulation must reproduce the serial one"
    per_set = min(t1, tw) / n_sets
    print(f"simulation: {n_sets} sets, {n_clips} clips")
    print(
        f"  1 worker (baseline): {t1:.2f} s = {1e3 * t1 / n_sets:.2f} ms/set, "
        f"{n_clips / t1:,.0f} clips/s"
    )
    print(
        f"  {workers} workers:          {tw:.2f} s = {1e3 * tw / n_sets:.2f} ms/set, "
        f"{n_clips / tw:,.0f} clips/s (x{t1 / tw:.2f} vs baseline)"
    )
    print(
        f"  projected for the shipped budget of {shipped_budget} sets: "
        f"{per_set * shipped_budget:.0f} s"
    )
    return {
        "sim_sets": n_sets,
        "sim_clips": n_clips,
        "sim_s_per_set_1worker": t1 / n_sets,
        "sim_clips_per_s_1worker": n_clips / t1,
        f"sim_s_per_set_{workers}workers": tw / n_sets,
        f"sim_clips_per_s_{workers}workers": n_clips / tw,
        "sim_parallel_speedup": t1 / tw,
        "sim_projected_s_shipped_budget": per_set * shipped_budget,
    }


def bench_training(n_sets: int, epochs: int, config: dict) -> dict:
    theta, x = simulate_training_set(n_sets, seed=202, workers=2)
    params = {k: v for k, v in config.items() if k not in ("bounds", "names")}
    params.update(max_num_epochs=epochs, stop_after_epochs=epochs + 1, seed=0)
    est = PosteriorEstimator(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, t = _timed(est.fit, theta, x)
    done = len(est.training_history_["training_loss"])
    per_epoch = t / done
    n_train = n_sets * (1 - params["validation_fraction"])
    print(
        f"training: {n_sets} sets, {done} epochs in {t:.1f} s = {per_epoch:.2f} s/epoch "
        f"({1e3 * per_epoch / n_train:.2f} s per 1000 examples per epoch)"
    )
    return {
        "train_sets": n_sets,
        "train_epochs": done,
        "train_s": t,
        "train_s_per_epoch": per_epoch,
        "train_s_per_1000_examples_epoch": 1e3 * per_epoch / n_train,
    }


def bench_sampling(est: PosteriorEstimator) -> dict:
    x = observe(simulate({}, 256, seed=7))
    est.sample(x, 100, seed=0)  # warm-up
    n = 20_000
    _, t = _timed(est.sample, x, n, seed=1)
    xs = np.stack([observe(simulate({}, 32, seed=8, start_index=32 * i)) for i in range(100)])
    _, tb = _timed(est.sample_batched, xs, 1000, seed=2)
    clips = simulate({}, 256, seed=9)
    _, tfit = _timed(lambda: est.sample(observe(clips), 1000, seed=3))
    print(
        f"sampling: {n / t:,.0f} samples/s (one x); {100 * 1000 / tb:,.0f} samples/s "
        f"(100 x at once); one set of 256 clips observed + 1000 samples in {1e3 * tfit:.0f} ms"
    )
    return {
        "sample_per_s_single": n / t,
        "sample_per_s_batched_100": 1e5 / tb,
        "fit_one_set_1000_samples_s": tfit,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=1000, help="sets for the simulation timing")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--train-sets", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()

    shipped = load_shipped()
    manifest = shipped.manifest_
    budget = manifest["data_reference"]["plan"]["n_sets"]
    figures: dict = {}
    figures.update(bench_simulation(args.sets, args.workers, budget))
    figures.update(bench_training(args.train_sets, args.epochs, manifest["config"]))
    figures.update(bench_sampling(shipped))
    recorded = {
        "shipped_budget": budget,
        "shipped_simulation_s": manifest["data_reference"]["simulation_time_s"],
        "shipped_training_s": manifest["training"]["training_time_s"],
        "shipped_epochs": manifest["training"]["history"]["epochs_trained"],
    }
    print(
        f"shipped model (recorded at training time): {budget} sets simulated in "
        f"{recorded['shipped_simulation_s']:.0f} s, trained {recorded['shipped_epochs']} "
        f"epochs in {recorded['shipped_training_s']:.0f} s"
    )
    figures.update(recorded)
    print(json.dumps({k: round(v, 6) if isinstance(v, float) else v for k, v in figures.items()}))


if __name__ == "__main__":
    main()
