"""How much do the set observations say about each knob's spread, and does the network use it?

Run (from the repository root)::

    .venv/bin/python benchmarks/spread_identifiability.py [--model MODEL_DIR] [--n 64]
        [--packs 6000] [--test 1000]

Simulates ``--packs`` packs of ``--n`` loops each with ψ from the hyperprior (the training
distribution), observes them as ``fit`` does, and for every knob asks how well the spread
ψ can be predicted from the observation, as R² on ``--test`` held-out packs:

* **baseline, measured in the same run**: gradient-boosted trees
  (scikit-learn's ``HistGradientBoostingRegressor``) trained on the other packs to predict
  the spread (share of the knob's range) from the 405-entry observation, a strong generic
  regressor that knows nothing of the model;
* **the model**: the median of the pack network's posterior of the spread.

If the network's R² is far below the trees', the network leaves information unused (a
training or architecture problem); if both are low, the observation does not separate that
knob's spread from the rest (an identifiability problem of the summaries or of the
population family), and no amount of training will narrow the posterior.

``--known`` adds packs of the default preset whose loops' knobs scatter by a known share of
each knob's range (0: one θ), at several sizes, and prints the posterior median and 90 %
interval of the spread of a few knobs (``--knobs``) as a share of the range, next to the
loops' actual scatter. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

from technorhythm.inference import load_shipped
from technorhythm.inference.population_estimator import PopulationEstimator
from technorhythm.inference.set_summaries import observe_population, observe_population_sets
from technorhythm.simulator import simulate
from technorhythm.simulator.knobs import KNOB_NAMES, KnobError, default_theta, get_knob


def r2(pred: np.ndarray, truth: np.ndarray) -> float:
    """Coefficient of determination of ``pred`` for ``truth`` (1 perfect, 0 the mean)."""
    return float(1.0 - np.mean((pred - truth) ** 2) / np.var(truth))


CHUNK_CLIPS = 131072
"""Clips simulated and observed at once: memory stays bounded whatever --packs and --n."""


def simulate_packs(est, n_packs: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(ψ (P, 2K), observations (P, D)) of ``n_packs`` prior packs of ``n`` loops."""
    rng = np.random.default_rng(seed)
    pop = est.population
    psi = pop.sample_hyper(n_packs, rng)
    per_chunk = max(1, CHUNK_CLIPS // n)
    rows = []
    for lo in range(0, n_packs, per_chunk):
        part = psi[lo : lo + per_chunk]
        theta = pop.sample_loops(part, n, rng)
        bpm = rng.uniform(110.0, 150.0, len(theta))
        clips = simulate(theta, seed=seed, start_index=lo * n, bpm=bpm, workers=2)
        groups = np.repeat(np.arange(len(part)), n)
        rows.append(observe_population_sets(clips, groups, n_sets=len(part)))
    return psi, np.concatenate(rows)


def known_spreads(est, sizes, shares, knobs, draws: int, seed: int) -> list[dict]:
    """Posterior spread (median, 5 %, 95 %; share of the range) of default-preset packs whose
    loops scatter by ``share`` of each range, for every size and share."""
    rng = np.random.default_rng(seed)
    pop = est.population
    low, high = pop.bounds[:, 0], pop.bounds[:, 1]
    base = np.array([default_theta()[name] for name in KNOB_NAMES])
    rows = []
    for n in sizes:
        for share in shares:
            scatter = rng.standard_normal((n, len(base))) * share * (high - low)
            theta = np.clip(base + scatter, low, high)
            x = observe_population(simulate(theta, seed=seed, bpm=rng.uniform(120.0, 140.0, n)))
            psi = np.asarray(est.sample_hyper(x[None], draws, seed=seed))[:, 0]
            row = {"n": n, "share": share}
            cells = []
            for name in knobs:
                j = KNOB_NAMES.index(name)
                width = high[j] - low[j]
                q = np.quantile(psi[:, pop.n_knobs + j] / width, [0.05, 0.5, 0.95])
                actual = float(theta[:, j].std() / width)
                row[name] = {"actual": round(actual, 3), "q": np.round(q, 3).tolist()}
                cells.append(f"{actual:.3f} -> {q[1]:.3f} [{q[0]:.3f}, {q[2]:.3f}]")
            rows.append(row)
            print(f"N = {n:4d}, scatter {share:.2f}: " + "; ".join(cells), flush=True)
    return rows


def plot_r2(rows: dict, n: int, path: str) -> None:
    """Bar chart of the spread R² per knob: trees (baseline) and the network."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from technorhythm.atomic import atomic_path

    names = list(rows)
    y = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(names) + 1.2))
    ax.barh(y - 0.2, [rows[k]["trees"] for k in names], 0.4, label="boosted trees (baseline)")
    ax.barh(y + 0.2, [rows[k]["network"] for k in names], 0.4, label="pack network")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlim(-0.1, 1.0)
    ax.axvline(0.0, color="0.5", lw=0.8)
    ax.set_xlabel(f"R² of the knob's spread, held-out prior packs of {n} loops")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="population model directory (default: the shipped one)")
    parser.add_argument("--n", type=int, default=64, help="loops per pack")
    parser.add_argument("--packs", type=int, default=6000, help="packs in all (train + test)")
    parser.add_argument("--test", type=int, default=1000, help="held-out packs")
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--known", action="store_true", help="also default-preset packs")
    parser.add_argument("--plot", help="write a PNG of the R² per knob here")
    parser.add_argument("--known-sizes", type=int, nargs="+", default=[16, 256, 1024])
    parser.add_argument("--known-shares", type=float, nargs="+", default=[0.0, 0.1])
    parser.add_argument(
        "--knobs", nargs="+", default=["hat_velocity", "kick_velocity", "swing_16", "kick_pulses"]
    )
    args = parser.parse_args(argv)
    if not 0 < args.test < args.packs:
        parser.error("--test must be positive and smaller than --packs")
    for name in args.knobs:
        try:
            get_knob(name)
        except KnobError as err:
            parser.error(str(err))
    warnings.filterwarnings("ignore", category=UserWarning)
    est = PopulationEstimator.load(args.model) if args.model else load_shipped()
    pop = est.population
    start = time.perf_counter()
    psi, x = simulate_packs(est, args.packs, args.n, args.seed)
    sim_s = time.perf_counter() - start
    train, test = slice(0, args.packs - args.test), slice(args.packs - args.test, args.packs)
    width = pop.bounds[:, 1] - pop.bounds[:, 0]
    _, spread = pop.split(psi)
    truth = spread / width
    post = np.asarray(est.sample_hyper(x[test], args.draws, seed=args.seed))  # (draws, P, 2K)
    net = np.median(post[:, :, pop.n_knobs :], axis=0) / width
    rows = {}
    print(f"{args.packs} prior packs of {args.n} loops simulated and observed in {sim_s:.1f} s")
    print(f"{'knob':18s} spread R²: trees (baseline)  network   network / trees")
    for j, name in enumerate(pop.names):
        trees = HistGradientBoostingRegressor(max_iter=300, random_state=args.seed)
        trees.fit(x[train], truth[train, j])
        r_trees = r2(trees.predict(x[test]), truth[test, j])
        r_net = r2(net[:, j], truth[test, j])
        rows[name] = {"trees": round(r_trees, 3), "network": round(r_net, 3)}
        ratio = r_net / r_trees if r_trees > 0.05 else float("nan")
        print(f"{name:18s}            {r_trees:6.2f}  {r_net:8.2f}   {ratio:8.2f}", flush=True)
    trees_all = np.array([r["trees"] for r in rows.values()])
    net_all = np.array([r["network"] for r in rows.values()])
    result = {
        "model": args.model or "shipped",
        "n": args.n,
        "packs": args.packs,
        "test": args.test,
        "median_r2_trees": round(float(np.median(trees_all)), 3),
        "median_r2_network": round(float(np.median(net_all)), 3),
        "knobs_trees_r2_below_0_5": int((trees_all < 0.5).sum()),
        "knobs_network_below_trees_by_0_1": int((net_all < trees_all - 0.1).sum()),
        "simulate_s": round(sim_s, 1),
        "per_knob": rows,
    }
    if args.plot:
        plot_r2(rows, args.n, args.plot)
        print(f"plot: {args.plot}")
    if args.known:
        print("default-preset packs: actual scatter of the loops -> posterior spread, median "
              "[5 %, 95 %], shares of the range; knobs: " + ", ".join(args.knobs))  # fmt: skip
        result["known"] = known_spreads(
            est, args.known_sizes, args.known_shares, args.knobs, args.draws, args.seed
        )
    print(
        f"median spread R²: trees {result['median_r2_trees']:.2f}, network "
        f"{result['median_r2_network']:.2f}; knobs whose spread the trees predict with R² < 0.5: "
        f"{result['knobs_trees_r2_below_0_5']} of {len(rows)}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
