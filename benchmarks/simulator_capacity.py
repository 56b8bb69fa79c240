"""Simulator capacity oracle: how close could a perfect population model get with this simulator?

Run: ``.venv/bin/python benchmarks/simulator_capacity.py [--sims v1 current] [--bank 300000]
[--demo-dataset DIR] [--groove-dataset DIR]`` (without the dataset options the demo corpus is
rendered and Groove ingested into a temporary folder, as ``benchmarks/fidelity.py`` does)

For every real clip of a corpus the oracle looks for the knob setting θ whose simulated
clips are nearest to it, then generates one *fresh* loop per real clip from those per-loop
θ and runs the posterior predictive checks (:func:`technorhythm.diagnostics.predictive`)
against the real pack. No estimator is involved: the figures bound from below what any
population model (a θ_i per loop) can reach with the simulator, so they measure the
simulator's capacity, not inference.

1. **Bank.** ``--bank`` clips, each from its own θ drawn uniformly from the simulator's
   knob box, tempos resampled from the corpus. Per-clip C2ST features
   (:func:`technorhythm.diagnostics.c2st.c2st_features`), standardised by the real
   corpus's sd (floored at a tenth of the bank's), so that what tells real clips apart
   counts in the distance.
2. **Nearest θ.** For each real clip (at most ``--per-pack`` per pack), the ``--k`` nearest
   bank clips give candidate θ; each is scored by its *expected* distance to the real clip
   (the mean over ``--repeats`` fresh simulations with common random numbers), and the best
   is refined by ``--sweeps`` rounds of coordinate descent: every knob in turn tried at
   ``--grid`` values over its whole range, then within ±1/8 and ±1/32 of it around the
   current value. A θ that only produced a near clip by luck loses to one that produces
   near clips reliably.
3. **Checks.** Per pack, ``max(n, 256)`` loops from the per-loop θ (each θ used equally
   often, the real clip's tempo, fresh seeds) against the real clips, and the prior
   predictive of the same simulator: C2ST (all features and by family), D against its
   real-half floor, the core histograms' in-band shares.

Corpora: the demo corpus (4 packs) and the Groove train/valid packs. The Groove test pack
is dropped before anything is computed (held out). ``self`` is a calibration corpus the
simulator under test made itself (:func:`self_clips`): what the oracle reaches there is its
own floor. ``v1`` is the frozen simulator of
``benchmarks/simulator_v1.py``; ``current`` is the package's simulator, labelled with its
``SIMULATOR_VERSION`` (``v4`` since ``hat_beats``/``hat_offbeats`` and the dead zones). The
search starts from a bank of prior clips and scales features by the bank, so its figures
depend on where the prior puts its mass: on the demo, v4 (which can play every v3 clip)
scores worse than v3 (docs/simulator.md, "Simulator v4"). The last line is one JSON object:
per simulator and corpus, the medians over packs and every pack's row.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("OMP_NUM_THREADS", "1")  # the C2ST's boosting on a shared 2-core machine

from technorhythm.clips import ClipBatch  # noqa: E402
from technorhythm.corpus import load_dataset  # noqa: E402
from technorhythm.diagnostics.c2st import c2st_features  # noqa: E402
from technorhythm.diagnostics.predictive import (  # noqa: E402
    check_predictive,
    run_predictive_check,
)

MIN_PACK = 16


@dataclass(frozen=True)
class Simulator:
    """A simulator under test: knob box (K, 2) and ``simulate(theta (n, K), seed, bpm)``."""

    name: str
    bounds: np.ndarray
    simulate: object


def load_simulator(name: str) -> Simulator:
    if name == "v1":
        from simulator_v1 import V1_BOUNDS, simulate_v1

        return Simulator("v1", V1_BOUNDS, lambda t, s, b: simulate_v1(t, seed=s, bpm=b))
    if name == "current":
        from technorhythm.inference.prior import knob_bounds
        from technorhythm.simulator import SIMULATOR_VERSION, simulate

        label = f"v{SIMULATOR_VERSION}"
        return Simulator(label, knob_bounds(), lambda t, s, b: simulate(t, seed=s, bpm=b))
    raise SystemExit(f"unknown simulator {name!r}; use v1 or current")


def simulate_many(sim: Simulator, theta: np.ndarray, bpm: np.ndarray, seed: int) -> ClipBatch:
    """Simulate in chunks (bounded memory for the C2ST feature step that follows)."""
    parts = [
        sim.simulate(theta[i : i + 50_000], seed + i, bpm[i : i + 50_000])
        for i in range(0, len(theta), 50_000)
    ]
    return ClipBatch.concat(parts)


def features(batch: ClipBatch) -> np.ndarray:
    return np.concatenate(
        [c2st_features(batch[i : i + 50_000]) for i in range(0, len(batch), 50_000)]
    ).astype(np.float32)


def self_clips(sim: Simulator, seed: int = 123) -> ClipBatch:
    """The calibration corpus: 3 packs of 48 clips that ``sim`` itself made, one prior θ per
    clip and tempos 90-150 bpm. The oracle's figures on it are the best it can show: what
    is left above 0.5 (C2ST) and 1 (D ratio) is the oracle's own error, not the simulator's."""
    rng = np.random.default_rng(seed)
    lo, hi = sim.bounds[:, 0], sim.bounds[:, 1]
    n = 3 * 48
    theta = lo + rng.random((n, len(lo))) * (hi - lo)
    clips = sim.simulate(theta, seed, rng.uniform(90.0, 150.0, n))
    meta = pd.DataFrame({"pack": np.repeat(["self_a", "self_b", "self_c"], 48)})
    return ClipBatch(clips.velocity, clips.offset, clips.bpm, meta)


def real_clips(corpus: str, sim: Simulator, datasets: dict[str, Path]) -> ClipBatch:
    if corpus == "self":
        return self_clips(sim)
    clips = load_dataset(datasets[corpus]).clips
    if corpus == "groove":  # the held-out Groove pack never enters
        clips = clips[np.flatnonzero((clips.meta["split"] != "test").to_numpy())]
    return clips


def subsample_packs(real: ClipBatch, cap: int, seed: int) -> np.ndarray:
    """Indices of at most ``cap`` random clips per pack (the clips that get their own θ)."""
    rng = np.random.default_rng(seed)
    packs = real.meta["pack"].to_numpy()
    keep = []
    for pack in sorted(set(packs)):
        sel = np.flatnonzero(packs == pack)
        keep.append(np.sort(rng.choice(sel, min(cap, len(sel)), replace=False)))
    return np.concatenate(keep)


class Matcher:
    """Feature distances between real clips and clips simulated from candidate θ.

    Features are standardised by the real corpus's sd (floored at a tenth of the bank's),
    so that what tells real clips apart from each other — and from generated ones — counts.
    ``expected(theta)`` simulates ``repeats`` clips per real clip with common random
    numbers (the same stream indices for every candidate) and returns the mean distance.
    """

    def __init__(
        self, sim: Simulator, real: ClipBatch, bank_x: np.ndarray, repeats: int, seed: int
    ):
        xr = features(real)
        sd = np.maximum(xr.std(axis=0), 0.1 * bank_x.std(axis=0))
        self.sd = np.where(sd > 1e-6, sd, 1.0).astype(np.float32)
        self.mean = xr.mean(axis=0)
        self.xr = (xr - self.mean) / self.sd
        self.sim, self.real, self.repeats, self.seed = sim, real, repeats, seed
        self.bpm = np.repeat(real.bpm, repeats)

    def scale(self, x: np.ndarray) -> np.ndarray:
        return (x - self.mean) / self.sd

    def expected(self, theta: np.ndarray) -> np.ndarray:
        rep = np.repeat(theta, self.repeats, axis=0)
        xs = self.scale(features(simulate_many(self.sim, rep, self.bpm, self.seed)))
        xs = xs.reshape(len(theta), self.repeats, -1)
        return np.linalg.norm(xs - self.xr[:, None, :], axis=-1).mean(axis=1)


def nearest_theta(
    sim: Simulator,
    real: ClipBatch,
    *,
    bank: int,
    k: int,
    repeats: int,
    sweeps: int,
    grid: int,
    seed: int,
) -> tuple[np.ndarray, dict[str, float]]:
    """Per real clip, the θ whose simulated clips are nearest on average (module docstring)."""
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(seed)
    lo, hi = sim.bounds[:, 0], sim.bounds[:, 1]
    theta = lo + rng.random((bank, len(lo))) * (hi - lo)
    t0 = time.perf_counter()
    xb = features(simulate_many(sim, theta, rng.choice(real.bpm, bank), seed + 1))
    match = Matcher(sim, real, xb, repeats, seed + 2)
    nn = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(match.scale(xb))
    _, idx = nn.kneighbors(match.xr)
    cand = theta[idx]  # (n, k, K)
    dist = np.stack([match.expected(cand[:, j]) for j in range(k)], axis=1)
    best = dist.argmin(axis=1)
    chosen = cand[np.arange(len(real)), best]
    current = dist[np.arange(len(real)), best]
    info = {"knn_expected_distance_median": float(np.median(current))}
    for sweep in range(sweeps):
        half = 0.5 * 0.25**sweep  # full range, then ±1/8, ±1/32 of it around the current θ
        for col in rng.permutation(len(lo)):
            span = hi[col] - lo[col]
            for step in np.linspace(-1.0, 1.0, grid):
                trial = chosen.copy()
                if sweep == 0:
                    trial[:, col] = lo[col] + 0.5 * (step + 1.0) * span
                else:
                    trial[:, col] = np.clip(chosen[:, col] + step * half * span, lo[col], hi[col])
                d = match.expected(trial)
                better = d < current
                chosen[better], current[better] = trial[better], d[better]
        info[f"sweep{sweep + 1}_expected_distance_median"] = float(np.median(current))
        print(f"  sweep {sweep + 1}: median expected distance {np.median(current):.2f}", flush=True)
    info["seconds_matching"] = round(time.perf_counter() - t0, 1)
    return chosen, info


def check_pack(
    sim: Simulator,
    real: ClipBatch,
    theta: np.ndarray,
    bpm: np.ndarray,
    *,
    seed: int,
    n_pred: int = 256,
) -> dict[str, object]:
    """The predictive checks of one pack with per-loop θ (fresh loops, each θ used equally)."""
    rng = np.random.default_rng(seed)
    n = max(len(real), n_pred)
    rows = np.concatenate([rng.permutation(len(theta)) for _ in range(-(-n // len(theta)))])[:n]
    posterior = sim.simulate(theta[rows], seed + 1, bpm[rows])
    lo, hi = sim.bounds[:, 0], sim.bounds[:, 1]
    prior_theta = lo + rng.random((n, len(lo))) * (hi - lo)
    prior = sim.simulate(prior_theta, seed + 2, rng.choice(real.bpm, n))
    check = run_predictive_check(real, posterior, prior, seed=seed)
    return check_predictive(check)


HEADLINE = (
    "c2st",
    "c2st_onsets",
    "c2st_velocity",
    "c2st_timing",
    "c2st_kick",
    "c2st_snare",
    "c2st_hh_closed",
    "c2st_hh_open",
    "c2st_cymbal",
    "d_ratio",
    "closer_than_prior",
    "onset_in_band",
    "velocity_in_band",
    "timing_in_band",
    "bar_repeat_in_band",
)


def run(sim_name: str, corpus: str, args: argparse.Namespace, datasets: dict[str, Path]) -> dict:
    sim = load_simulator(sim_name)
    real = real_clips(corpus, sim, datasets)
    t0 = time.perf_counter()
    fitted = subsample_packs(real, args.per_pack, args.seed)
    theta, info = nearest_theta(
        sim,
        real[fitted],
        bank=args.bank,
        k=args.k,
        repeats=args.repeats,
        sweeps=args.sweeps,
        grid=args.grid,
        seed=args.seed,
    )
    packs = real.meta["pack"].to_numpy()
    rows = []
    for pack in sorted(set(packs)):
        sel = np.flatnonzero(packs == pack)
        mine = np.flatnonzero(packs[fitted] == pack)
        if len(sel) < MIN_PACK:
            continue
        row = check_pack(sim, real[sel], theta[mine], real.bpm[fitted[mine]], seed=args.seed + 17)
        print(f"  {pack}: c2st {row.get('c2st', np.nan):.3f}", flush=True)
        rows.append({"pack": pack, "n": len(sel), **{h: row.get(h) for h in HEADLINE}})
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(f"\n== {sim.name} on {corpus}: {len(real)} clips, {info}")
        print(table.round(3).to_string(index=False))
    median = {h: float(table[h].astype(float).median()) for h in HEADLINE}
    median["closer_than_prior"] = float(table["closer_than_prior"].astype(float).mean())
    print("median:", {k: round(v, 3) for k, v in median.items()})
    return {
        "median": median,
        "packs": table.to_dict("records"),
        "info": info,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sims", nargs="+", default=["v1", "current"])
    parser.add_argument("--corpora", nargs="+", default=["demo", "groove"])
    parser.add_argument("--bank", type=int, default=200_000, help="prior clips in the bank")
    parser.add_argument("--k", type=int, default=8, help="nearest-neighbour θ per real clip")
    parser.add_argument("--repeats", type=int, default=8, help="simulations per candidate θ")
    parser.add_argument("--sweeps", type=int, default=3, help="coordinate-descent sweeps")
    parser.add_argument("--grid", type=int, default=9, help="values per knob and sweep")
    parser.add_argument("--per-pack", type=int, default=64, help="clips per pack given a θ")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--demo-dataset", type=Path, help="ingested, split demo corpus")
    parser.add_argument("--groove-dataset", type=Path, help="ingested Groove, split with seed 0")
    args = parser.parse_args()
    out: dict[str, object] = {
        k: getattr(args, k) for k in ("bank", "k", "repeats", "sweeps", "grid", "per_pack")
    }
    with tempfile.TemporaryDirectory() as tmp:
        datasets = corpus_paths(args, Path(tmp))
        for name in args.sims:
            label = load_simulator(name).name
            for corpus in args.corpora:
                out[f"{label}_{corpus}"] = run(name, corpus, args, datasets)
    print(json.dumps(out, default=float))


def corpus_paths(args: argparse.Namespace, tmp: Path) -> dict[str, Path]:
    """The corpora asked for: the given datasets, else built like ``fidelity.py`` builds them."""
    from fidelity import demo_dataset, groove_dataset

    paths: dict[str, Path] = {}
    if "demo" in args.corpora:
        paths["demo"] = args.demo_dataset or demo_dataset(tmp)
    if "groove" in args.corpora:
        groove = args.groove_dataset or groove_dataset(tmp)
        if groove is None:
            raise SystemExit("Groove not found: give --groove-dataset or TECHNORHYTHM_GROOVE_DIR")
        paths["groove"] = groove
    return paths


if __name__ == "__main__":
    main()
