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
* **shared statistics**: the set observations of one training chunk (``--chunk-clips``
  clips) with each clip's statistics computed once, as the training simulation does,
  against computing them twice (once for the per-loop features, once for the set
  summaries: the baseline, what it did before); the two must agree byte for byte;
* with ``--model``: draws per second of the trained model, the cost of every loop of a
  4952-loop corpus (Groove's size) at 200 draws each, and the loop network's draws through
  sbi's own ``sample`` (the baseline) against :func:`technorhythm.inference.mdn.mdn_sampler`
  on the same conditions and seed (they must be the same draws).

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


def bench_shared_stats(n_clips: int) -> dict:
    """One training chunk's set observations: clip statistics once (shipped) vs twice."""
    from technorhythm.inference import Population
    from technorhythm.inference.set_summaries import loop_features, observe_population_sets
    from technorhythm.simulator import simulate
    from technorhythm.summaries.features import batch_stats

    pop = Population.from_registry()
    rng = np.random.default_rng(5)
    sizes = np.full(n_clips // 64, 64)
    z = np.concatenate([pop.sample_latent(p, 64, rng) for p in pop.sample_hyper(len(sizes), rng)])
    batch = simulate(pop.clip(z), seed=5)
    groups = np.repeat(np.arange(len(sizes)), sizes)

    def twice():  # the path before: features and set summaries each computed the statistics
        return observe_population_sets(batch, groups, features=loop_features(batch))

    def once():
        stats = batch_stats(batch)
        f = loop_features(batch, stats=stats)
        return observe_population_sets(batch, groups, features=f, stats=stats)

    a, t_twice = min((_timed(twice) for _ in range(3)), key=lambda r: r[1])
    b, t_once = min((_timed(once) for _ in range(3)), key=lambda r: r[1])
    assert a.tobytes() == b.tobytes(), "sharing the statistics must not change the observation"
    print(
        f"set observations of {len(batch)} clips: statistics twice {t_twice:.2f} s (baseline), "
        f"once {t_once:.2f} s (×{t_twice / t_once:.2f})"
    )
    return {
        "clips": len(batch),
        "stats_twice_s": round(t_twice, 3),
        "stats_once_s": round(t_once, 3),
        "speedup": round(t_twice / t_once, 2),
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
    return {
        "hyper_25x400_s": round(t_hyper, 2),
        "loops_4952x200_s": round(t_loops, 2),
        "loop_sampler": bench_loop_sampler(est, feats, psi[:40, 0]),
    }


def bench_loop_sampler(est, feats: np.ndarray, psi: np.ndarray) -> dict:
    """The loop network's draws: sbi's own ``sample`` (baseline) vs ours, same chunks."""
    import torch

    from technorhythm.inference.mdn import mdn_sampler
    from technorhythm.inference.population_data import loop_condition_grid

    net = est.loop_._net()
    ours = mdn_sampler(net)
    if ours is None:
        print("loop sampler: the installed sbi's network is not recognised; sbi's sample is used")
        return {"recognised": False}
    grids = [
        torch.as_tensor(loop_condition_grid(feats, p[None], est.population), dtype=torch.float32)
        for p in psi
    ]
    chunks = [c[i : i + 1024] for c in grids for i in range(0, len(c), 1024)]

    def run(draw):
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            return torch.cat([draw(c) for c in chunks], dim=1)

    a, t_sbi = _timed(run, lambda c: net.sample((1,), condition=c))
    b, t_ours = _timed(run, lambda c: ours(c, 1))
    assert torch.equal(a, b), "our sampler must draw what sbi's draws"
    pairs = sum(len(c) for c in chunks)
    print(
        f"loop network, {pairs} (ψ, loop) pairs in 1024-row chunks: sbi's sample {t_sbi:.2f} s "
        f"(baseline), ours {t_ours:.2f} s (×{t_sbi / t_ours:.2f}), the same draws"
    )
    return {
        "recognised": True,
        "pairs": pairs,
        "sbi_s": round(t_sbi, 2),
        "ours_s": round(t_ours, 2),
        "speedup": round(t_sbi / t_ours, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rows", type=int, default=5000, help="conditions per speed test")
    parser.add_argument("--model", help="a trained population model to time")
    parser.add_argument(
        "--chunk-clips", type=int, default=1 << 16, help="clips of the shared-statistics test"
    )
    args = parser.parse_args()
    from technorhythm.inference.set_summaries import set_feature_names
    from technorhythm.simulator.knobs import KNOB_NAMES
    from technorhythm.summaries import FEATURE_NAMES

    figures = {
        "simulation": bench_simulation(args.sets, args.workers),
        "shared_stats": bench_shared_stats(args.chunk_clips),
        "draws_per_s": bench_architectures(
            len(KNOB_NAMES), len(set_feature_names()), len(FEATURE_NAMES), args.rows
        ),
    }
    if args.model:
        figures["model"] = bench_model(args.model)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
