"""Benchmark: population training data, network sampling speed, and one corpus-scale fit.

Run: ``.venv/bin/python benchmarks/bench_inference.py [--model MODEL_DIR] [--sets 300]``

Measures, on this machine:

* **simulation**: :func:`technorhythm.inference.simulate_population_sets` of ``--sets``
  packs (sizes log-uniform over 1…1024) with 1 worker (the baseline) and with
  ``--workers``; packs/s and the speed-up, and the projected time of a 20 000-pack budget;
* **sampling speed of the architectures** (untrained networks of the same shapes, so the
  figure is architecture only): the pack network as a fully autoregressive spline flow on
  the raw 404-entry observation (the baseline) against the shipped choice (coupling
  transforms on an embedding); the loop network as an autoregressive spline flow (the
  baseline) against the mixture density network;
* with ``--model``: draws per second of the trained model, and the cost of every loop of a
  4952-loop corpus (Groove's size) at 200 draws each.

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

from technorhythm.inference import PopulationPlan, simulate_population_sets
from technorhythm.inference.flows import ConditionalFlow
from technorhythm.inference.population_estimator import LOOP_DEFAULTS, PACK_DEFAULTS


def _timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def bench_simulation(n_sets: int, workers: int) -> dict:
    plan = PopulationPlan(n_sets, seed=101)
    simulate_population_sets(PopulationPlan(10, seed=100))  # warm-up
    d1, t1 = _timed(simulate_population_sets, plan, workers=1)
    dw, tw = _timed(simulate_population_sets, plan, workers=workers)
    assert np.array_equal(d1.x_set, dw.x_set), "parallel simulation must reproduce the serial"
    print(f"simulation of {n_sets} packs: 1 worker {t1:.1f} s, {workers} workers {tw:.1f} s")
    return {
        "packs": n_sets,
        "serial_s": round(t1, 2),
        "parallel_s": round(tw, 2),
        "speedup": round(t1 / tw, 2),
        "projected_20000_packs_s": round(20000 * min(t1, tw) / n_sets, 1),
    }


def _draw_rate(params: dict, t_dim: int, c_dim: int, rows: int) -> float:
    rng = np.random.default_rng(0)
    flow = ConditionalFlow(**{**params, "max_num_epochs": 1})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flow.fit(rng.standard_normal((600, t_dim)), rng.standard_normal((600, c_dim)))
    cond = rng.standard_normal((rows, c_dim))
    flow.sample(cond[:10], 1, seed=0)  # warm-up
    _, dt = _timed(flow.sample, cond, 1, seed=1)
    return rows / dt


def bench_architectures(k: int, x_dim: int, f_dim: int, rows: int) -> dict:
    shape = ("model", "hidden_features", "num_transforms", "num_bins", "embedding_features")
    pack = {key: PACK_DEFAULTS[key] for key in (*shape, "passes")}
    loop = {key: LOOP_DEFAULTS[key] for key in (*shape, "passes")}
    base_pack = {**pack, "embedding_features": (), "passes": None}
    base_loop = {**loop, "model": "nsf", "num_transforms": 3}
    out = {
        "pack_autoregressive_raw": _draw_rate(base_pack, 2 * k, x_dim, rows),
        "pack_shipped": _draw_rate(pack, 2 * k, x_dim, rows),
        "loop_autoregressive": _draw_rate(base_loop, k, f_dim + 2 * k, rows),
        "loop_shipped": _draw_rate(loop, k, f_dim + 2 * k, rows),
    }
    out = {key: round(v) for key, v in out.items()}
    out["pack_speedup"] = round(out["pack_shipped"] / out["pack_autoregressive_raw"], 1)
    out["loop_speedup"] = round(out["loop_shipped"] / out["loop_autoregressive"], 1)
    print(f"draws/s (baseline → shipped): {out}")
    return out


def bench_model(model_dir: str) -> dict:
    from technorhythm.inference import PopulationEstimator

    est = PopulationEstimator.load(model_dir)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((25, est.x_dim_))
    est.sample_hyper(x[:1], 10, seed=0)
    psi, t_hyper = _timed(est.sample_hyper, x, 400, seed=1)
    feats = rng.standard_normal((4952, est.loop_dim_))
    _, t_loops = _timed(est.sample_loops, feats, psi[:200, 0], seed=2)
    print(
        f"trained model: 25 packs × 400 ψ draws {t_hyper:.1f} s; 4952 loops × 200 {t_loops:.1f} s"
    )
    return {"hyper_25x400_s": round(t_hyper, 2), "loops_4952x200_s": round(t_loops, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rows", type=int, default=5000, help="conditions per speed test")
    parser.add_argument("--model", help="a trained population model to time")
    args = parser.parse_args()
    from technorhythm.inference.set_summaries import set_feature_names
    from technorhythm.simulator.knobs import KNOB_NAMES
    from technorhythm.summaries import FEATURE_NAMES

    figures = {
        "simulation": bench_simulation(args.sets, args.workers),
        "draws_per_s": bench_architectures(
            len(KNOB_NAMES), len(set_feature_names()), len(FEATURE_NAMES), args.rows
        ),
    }
    if args.model:
        figures["model"] = bench_model(args.model)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
