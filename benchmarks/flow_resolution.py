"""Does the pack posterior narrow as a pack grows? Width against the estimator's own scatter.

Run (from the repository root)::

    .venv/bin/python benchmarks/flow_resolution.py [--model MODEL_DIR] [--sizes 16 64 256 1024]
    .venv/bin/python benchmarks/flow_resolution.py --toy [--epochs 15]

**Model** (default: the shipped one). Draw ``--psis`` hyperparameters ψ from the
hyperprior; for each ψ and pack size N simulate ``--reps`` independent packs of N loops,
observe each and draw from the pack network. Per knob, the loops' mean value E[θ] gives:

* the posterior sd, averaged over the packs;
* the sd of the posterior means over the packs at the same ψ: the estimator's own scatter,
  the baseline measured in the same run (a posterior whose width follows the data has
  a ratio scatter / sd near 1 once the data decide; the width of an efficient posterior
  shrinks like 1/√N);
* |mean of the posterior means − true E[θ]| / posterior sd (bias), and how often the
  90 % normal interval covers the true value.

Widths are shares of each knob's range; figures are medians over ψ and knobs (coverage: the
mean). The pattern-bootstrap figure of
``validate_inference.py`` is the same ratio on real packs.

**Toy** (``--toy``): the flow architecture alone. t = c + s·ε in 8 dimensions, with c and
log s in the condition (plus 20 noise columns); a flow of the pack network's shape is
trained with and without the affine head (``ConditionalFlow(affine_head=...)``), and the
learned width and the bias of its location are printed for s from 0.5 down to 0.005. The
baseline is the same flow without the head, trained on the same data in the same run.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from technorhythm.inference import load_shipped  # noqa: E402
from technorhythm.inference.population_estimator import PopulationEstimator  # noqa: E402
from technorhythm.simulator import simulate  # noqa: E402
from validation_real import fit_sets  # noqa: E402

START_INDEX = 1 << 37
"""First simulator clip index of the packs (far from the training clips)."""


def model_scaling(est, sizes, n_psi: int, reps: int, draws: int, seed: int) -> list[dict]:
    """One row per N: medians of posterior sd, scatter of means, their ratio, bias, coverage."""
    pop = est.population
    width = pop.bounds[:, 1] - pop.bounds[:, 0]
    psis = pop.sample_hyper(n_psi, np.random.default_rng(seed))
    rows = []
    for n in sizes:
        sd_, scatter, bias, cover = [], [], [], []
        for j, psi in enumerate(psis):
            packs = []
            for r in range(reps):
                theta = pop.sample_loops(psi[None], n, np.random.default_rng([seed, j, r, n]))
                start = START_INDEX + (j * reps + r) * 4096
                packs.append(simulate(theta, seed=seed + 1, start_index=start))
            m = fit_sets(est, packs, draws, seed + 2)  # (S, R, K)
            mean, sd = m.mean(axis=0), m.std(axis=0)
            true = pop.mean(psi)
            sd_.append(sd.mean(axis=0) / width)
            scatter.append(mean.std(axis=0, ddof=1) / width)
            bias.append(np.abs(mean.mean(axis=0) - true) / sd.mean(axis=0))
            cover.append((np.abs(mean - true) / np.maximum(sd, 1e-12) < 1.645).mean(axis=0))
        sd_, scatter = np.stack(sd_), np.stack(scatter)
        row = {
            "n": int(n),
            "posterior_sd_of_range": float(np.median(sd_)),
            "scatter_of_means_of_range": float(np.median(scatter)),
            "ratio": float(np.median(scatter / np.maximum(sd_, 1e-12))),
            "bias_over_sd": float(np.median(np.stack(bias))),
            "coverage90": float(np.mean(np.stack(cover))),
        }
        sd_share, scatter_share = row["posterior_sd_of_range"], row["scatter_of_means_of_range"]
        print(
            f"N = {n:5d}  posterior sd {sd_share:.4f} and scatter of means {scatter_share:.4f}"
            f" of a range  ratio {row['ratio']:.3f}  |bias| / sd {row['bias_over_sd']:.3f}"
            f"  90 % coverage {row['coverage90']:.3f}",
            flush=True,
        )
        rows.append(row)
    return rows


def toy(epochs: int, seed: int) -> dict:
    """Learned width and location bias of the pack network's flow shape, head on and off."""
    from technorhythm.inference.flows import ConditionalFlow

    rng = np.random.default_rng(seed)
    m, p = 60_000, 8
    c = rng.uniform(-2, 2, (m, p))
    log_s = rng.uniform(np.log(0.005), np.log(0.5), (m, 1))
    t = c + np.exp(log_s) * rng.standard_normal((m, p))
    cond = np.hstack([c, log_s, rng.standard_normal((m, 20))])
    scales = (0.5, 0.1, 0.03, 0.01, 0.005)
    test = [
        np.hstack(
            [rng.uniform(-2, 2, (50, p)), np.full((50, 1), np.log(s)), rng.normal(size=(50, 20))]
        )
        for s in scales
    ]
    out = {}
    for head in (False, True):
        flow = ConditionalFlow(
            hidden_features=64,
            num_transforms=4,
            num_bins=8,
            embedding_features=(256, 128),
            passes=2,
            affine_head=head,
            training_batch_size=256,
            max_num_epochs=epochs,
            stop_after_epochs=5,
            anneal_epochs=5,
            anneal_factor=0.2,
            seed=seed,
        )
        start = time.perf_counter()
        flow.fit(t, cond)
        label = "head" if head else "no head"
        res = {"seconds": round(time.perf_counter() - start, 1)}
        res["validation_loss"] = round(flow.history_["best_validation_loss"], 3)
        for s, cc in zip(scales, test, strict=True):
            d = flow.sample(cc, 300, seed=seed + 1)
            res[f"sd@{s}"] = round(float(d.std(axis=0).mean()), 4)
            res[f"bias@{s}"] = round(float(np.abs(d.mean(axis=0) - cc[:, :p]).mean()), 4)
        print(label, res, flush=True)
        out[label] = res
    for s in scales:
        ratio = out["head"][f"sd@{s}"] / out["no head"][f"sd@{s}"]
        print(f"s = {s}: learned width with the head / without = {ratio:.2f}")
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", help="model directory (default: the shipped model)")
    p.add_argument("--sizes", type=int, nargs="+", default=[16, 64, 256, 1024])
    p.add_argument("--psis", type=int, default=6, help="hyperparameters from the hyperprior")
    p.add_argument("--reps", type=int, default=12, help="independent packs per ψ and size")
    p.add_argument("--draws", type=int, default=200)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--toy", action="store_true", help="the flow architecture on a toy problem")
    p.add_argument("--epochs", type=int, default=15, help="--toy: epochs before annealing")
    args = p.parse_args(argv)
    start = time.perf_counter()
    if args.toy:
        result = {"toy": toy(args.epochs, args.seed)}
    else:
        est = PopulationEstimator.load(args.model) if args.model else load_shipped()
        rows = model_scaling(est, args.sizes, args.psis, args.reps, args.draws, args.seed)
        result = {"model": args.model or "shipped", "rows": rows}
    result["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
