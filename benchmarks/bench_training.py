"""Benchmark: the pack network's training steps and sampling, zuko's spline against ours.

Run: ``.venv/bin/python benchmarks/bench_training.py [--model MODEL_DIR] [--sets 20000]``

The pack network (the model's own configuration: coupling spline flow on an embedding of
the set summaries) spends most of a training step building its splines, and torch's CPU
softmax over the K = 8 bins of the last axis is slow. Measured in one run, one torch thread
(as ``technorhythm train`` trains each pack network), each run ``--repeats`` times,
interleaved, the fastest kept (the machine's speed drifts by more than the effect):

* **training**: sbi's NPE training loop, ``--epochs`` + 1 epochs (sbi counts from 0) on
  ``--sets`` synthetic sets of the model's shapes (targets and summaries standard normal:
  the cost of a step does not depend on the values), with zuko's
  :class:`~zuko.transforms.MonotonicRQSTransform` (the baseline) and with
  :class:`technorhythm.inference.splines.LeadingSoftmaxRQS`; ms per batch, the ratio,
  and the validation losses of both (the same seed: they agree to the float rounding that
  a few hundred optimizer steps amplify);
* **sampling**: the trained pack network of ``--model`` (default: the shipped one), 1000
  draws for each of ``--conditions`` set summaries, as ``fit`` draws them: zuko's spline in
  calls of 50 000 draws (the baseline, as before), ours in the same calls (the same random
  stream: the largest difference between the two sets of draws is printed), and ours in
  calls of :data:`~technorhythm.inference.flows.SAMPLE_CHUNK` draws (the default now);
  seconds, draws per second and the ratios.

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from functools import partial

import numpy as np
import torch
from zuko.flows.autoregressive import MaskedAutoregressiveTransform
from zuko.transforms import MonotonicRQSTransform

from technorhythm.inference.ensemble import FlowEnsemble
from technorhythm.inference.estimator import _NoTracker
from technorhythm.inference.flows import SAMPLE_CHUNK, ConditionalFlow
from technorhythm.inference.packaged import SHIPPED_DIR
from technorhythm.inference.population_estimator import PopulationEstimator
from technorhythm.inference.splines import use_fast_splines


def use_zuko_splines(net: torch.nn.Module) -> None:
    """Undo :func:`use_fast_splines`: zuko's own spline in every transform."""
    for module in net.modules():
        if isinstance(module, MaskedAutoregressiveTransform):
            keywords = getattr(module.univariate, "keywords", {})
            module.univariate = partial(MonotonicRQSTransform, **keywords)


def _spline_builder(flow: ConditionalFlow, c_dim: int, spline):
    build = flow._builder(np.ones(c_dim, dtype=bool))

    def builder(*args, **kwargs):
        net = build(*args, **kwargs)
        spline(net)
        return net

    return builder


def _train_once(builder, t, c, config: dict, epochs: int):
    """(seconds, validation losses) of sbi's NPE training to ``max_num_epochs=epochs``, seed 0."""
    from sbi.inference import NPE

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.manual_seed(0)
        inference = NPE(
            prior=None, density_estimator=builder, show_progress_bars=False, tracker=_NoTracker()
        )
        inference.append_simulations(t, c)
        start = time.perf_counter()
        inference.train(
            training_batch_size=int(config["training_batch_size"]),
            learning_rate=float(config["learning_rate"]),
            max_num_epochs=epochs,
            stop_after_epochs=epochs + 1,
            clip_max_norm=config["clip_max_norm"],
        )
        seconds = time.perf_counter() - start
    return seconds, [round(float(v), 4) for v in inference.summary["validation_loss"]]


def bench_training(
    config: dict, t_dim: int, c_dim: int, n_sets: int, epochs: int, repeats: int
) -> dict:
    rng = np.random.default_rng(0)
    t = torch.as_tensor(rng.normal(size=(n_sets, t_dim)), dtype=torch.float32)
    c = torch.as_tensor(rng.normal(size=(n_sets, c_dim)), dtype=torch.float32)
    flow = ConditionalFlow(**config)
    batch = int(config["training_batch_size"])
    per_epoch = int(np.ceil(n_sets * (1 - float(config["validation_fraction"])) / batch))
    builders = {
        "zuko": _spline_builder(flow, c_dim, use_zuko_splines),
        "leading_softmax": _spline_builder(flow, c_dim, use_fast_splines),
    }
    for builder in builders.values():  # warm-up
        _train_once(builder, t[:1024], c[:1024], config, 1)
    seconds: dict[str, list[float]] = {name: [] for name in builders}
    losses = {}
    for _ in range(repeats):  # interleaved, so a change in the machine's speed hits both
        for name, builder in builders.items():
            sec, losses[name] = _train_once(builder, t, c, config, epochs)
            seconds[name].append(sec)
    out: dict = {}
    for name in builders:
        best = min(seconds[name])
        trained = len(losses[name])  # sbi counts from epoch 0: max_num_epochs + 1 epochs
        out[name] = {
            "seconds": round(best, 2),
            "all_seconds": [round(v, 2) for v in seconds[name]],
            "epochs": trained,
            "ms_per_batch": round(1000 * best / (trained * per_epoch), 2),
            "validation_loss": losses[name],
        }
        print(
            f"training, {name} spline: {best:.1f} s for {trained} epochs of {n_sets} sets "
            f"({out[name]['ms_per_batch']:.1f} ms per batch of {batch}; best of "
            f"{out[name]['all_seconds']}); validation loss {losses[name]}"
        )
    out["speedup"] = round(out["zuko"]["seconds"] / out["leading_softmax"]["seconds"], 3)
    difference = np.abs(np.subtract(losses["zuko"], losses["leading_softmax"]))
    out["max_validation_loss_difference"] = round(float(difference.max()), 5)
    print(
        f"training speed-up {out['speedup']:.2f}x; validation losses differ by at most "
        f"{out['max_validation_loss_difference']:.2g} nats"
    )
    return out


def bench_sampling(flow: ConditionalFlow, n_conditions: int, repeats: int) -> dict:
    rng = np.random.default_rng(1)
    conditions = rng.normal(size=(n_conditions, flow.c_dim_))
    net = flow.network_
    runs = {
        "zuko, 50 000-draw calls": (use_zuko_splines, 50_000),
        "leading softmax, 50 000-draw calls": (use_fast_splines, 50_000),
        f"zuko, {SAMPLE_CHUNK}-draw calls": (use_zuko_splines, SAMPLE_CHUNK),
        f"leading softmax, {SAMPLE_CHUNK}-draw calls": (use_fast_splines, SAMPLE_CHUNK),
    }
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    draws = {}
    for _ in range(repeats):  # interleaved, so a change in the machine's speed hits all
        for name, (spline, chunk) in runs.items():
            spline(net)
            flow.sample(conditions[:1], 10, seed=0)  # warm-up
            start = time.perf_counter()
            draws[name] = flow.sample(conditions, 1000, seed=0, threads=1, chunk=chunk)
            seconds[name].append(time.perf_counter() - start)
    out: dict = {}
    for name in runs:
        best = min(seconds[name])
        out[name] = {
            "seconds": round(best, 3),
            "all_seconds": [round(v, 3) for v in seconds[name]],
            "draws_per_s": round(n_conditions * 1000 / best),
        }
        print(
            f"sampling, {name}: {n_conditions} x 1000 draws in {best:.2f} s "
            f"(best of {[round(v, 2) for v in seconds[name]]})"
        )
    names = list(runs)
    before = out[names[0]]["seconds"]
    out["speedup_spline_large_calls"] = round(before / out[names[1]]["seconds"], 3)
    out["speedup_spline_small_calls"] = round(
        out[names[2]]["seconds"] / out[names[3]]["seconds"], 3
    )
    out["speedup"] = round(before / out[names[3]]["seconds"], 3)
    out["max_draw_difference_same_calls"] = float(
        max(
            np.max(np.abs(draws[names[0]] - draws[names[1]])),
            np.max(np.abs(draws[names[2]] - draws[names[3]])),
        )
    )
    print(
        f"sampling speed-up of the spline: {out['speedup_spline_large_calls']:.2f}x in "
        f"50 000-draw calls, {out['speedup_spline_small_calls']:.2f}x in {SAMPLE_CHUNK}-draw "
        f"calls; both changes {out['speedup']:.2f}x; with the same calls the draws differ by "
        f"at most {out['max_draw_difference_same_calls']:.2g} (z-scored targets)"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model folder (default: the shipped one)")
    parser.add_argument("--sets", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--conditions", type=int, default=27)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (best kept)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    estimator = PopulationEstimator.load(args.model or SHIPPED_DIR)
    pack = estimator.pack_
    flow = pack.members[0] if isinstance(pack, FlowEnsemble) else pack
    config = flow.get_params()
    figures = {
        "config": {k: config[k] for k in ("num_transforms", "hidden_features", "num_bins")},
        "t_dim": int(flow.t_dim_),
        "c_dim": int(flow.c_dim_),
        "torch_threads": 1,
    }
    figures["training"] = bench_training(
        config, int(flow.t_dim_), int(flow.c_dim_), args.sets, args.epochs, args.repeats
    )
    figures["sampling"] = bench_sampling(flow, args.conditions, args.repeats)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
