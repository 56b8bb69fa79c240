"""Which posterior predictive do the checks see through: new loops, or the pack's own loops?

Run (from the repository root)::

    .venv/bin/python benchmarks/predictive_kinds.py [--model MODEL_DIR] [--demo-dataset DIR]
        [--groove-dataset DIR] [--splits train valid] [--decompose]
        [--families draws means] [--corpora demo groove]

A population fit gives two posterior predictives of a pack:

* **new loops** (what ``fit`` checks and what generation from ψ makes): ψ from the pack
  posterior, then each loop's knobs θ ~ population(ψ) — independent knobs per loop;
* **replicated loops**: the pack's own loops again, each from a draw of its own
  partial-pooling posterior p(θ_i | loop, pack) — every real loop keeps its combination of
  knobs (the "same units" replication of hierarchical posterior predictive checks).

``--families draws means`` adds new loops from Gaussian families fitted directly to the
loops' posterior draws or means (independent or correlated knobs, one or two modes; an
oracle for a richer population family, :class:`FittedFamilyPredictive`).

``--decompose`` adds two predictives between them, each removing one difference: **new
loops, median ψ** (every set from the posterior-median ψ: no ψ uncertainty) and **shuffled
knobs** (each knob of a loop from a randomly chosen loop's posterior draw: the pack's own
distribution of every knob, without the combinations of knobs inside a loop).

For every pack (``fit_groups(..., by="pack", loops=True)`` with the model, per split) both
go through :func:`technorhythm.posteriors.checks.check_group` (same seeds, same prior
predictive, no verdict) and the benchmark prints the medians over packs: C2ST (all features
and the onsets, velocity and timing families), D / floor, onset bins in band. The baseline,
measured in the same run, is the new-loops predictive. The capacity oracle
(``simulator_capacity.py``) replicates every loop with the θ a search found for it; this is
the same idea with the estimator's per-loop posteriors. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from technorhythm.corpus import load_dataset  # noqa: E402
from technorhythm.inference import load_shipped  # noqa: E402
from technorhythm.inference.population_estimator import PopulationEstimator  # noqa: E402
from technorhythm.posteriors.checks import check_group  # noqa: E402
from technorhythm.posteriors.fit import fit_groups  # noqa: E402
from technorhythm.posteriors.predictive_models import (  # noqa: E402
    LoopPredictive,
    PopulationPredictive,
)

COLUMNS = ("c2st", "c2st_onsets", "c2st_velocity", "c2st_timing", "d_ratio", "onset_in_band")
MIN_CLIPS = 16


@dataclass(frozen=True)
class ShuffledLoopPredictive:
    """The pack's loops' posterior draws, each knob from an independently chosen loop.

    Keeps the pack's empirical distribution of every knob (its shape: point masses,
    bimodality) but breaks the combinations of knobs inside a loop, as the population
    model's independent knobs do.
    """

    loops: np.ndarray

    def draw(self, n_sets: int, n_clips: int, rng: np.random.Generator) -> np.ndarray:
        s, b, k = self.loops.shape
        n = int(n_sets) * int(n_clips)
        draws = rng.integers(0, s, size=(n, k))
        loops = rng.integers(0, b, size=(n, k))
        return self.loops[draws, loops, np.arange(k)[None, :]]


@dataclass(frozen=True)
class PointPopulationPredictive:
    """New loops from one ψ, the posterior median (no uncertainty about the pack)."""

    hyper: np.ndarray
    population: object

    def draw(self, n_sets: int, n_clips: int, rng: np.random.Generator) -> np.ndarray:
        psi = np.median(self.hyper, axis=0, keepdims=True)
        return self.population.sample_loops(np.repeat(psi, int(n_sets), axis=0), int(n_clips), rng)


@dataclass(frozen=True)
class FittedFamilyPredictive:
    """New loops from a family fitted to the pack's per-loop posteriors (an oracle).

    The population model's ψ is learned by the pack network; here a family is fitted
    directly to the loops' own posterior draws (S, B, K), pooled (``fit_to="draws"``: the
    spread of the loops plus each loop's posterior width, so too wide), or to the loops'
    posterior means (``"means"``: too narrow), in units of each knob's range: a Gaussian
    mixture with ``components`` components and ``covariance`` "diag" (independent knobs)
    or "full" (correlated knobs). New loops are drawn from it and clipped to the knob
    ranges, as the censored-normal population clips. Comparing the families says which
    structure (correlations, several modes) a richer population model would need, before
    one is trained.
    """

    loops: np.ndarray
    bounds: np.ndarray
    components: int = 1
    covariance: str = "diag"
    fit_to: str = "draws"

    def __post_init__(self) -> None:
        from sklearn.mixture import GaussianMixture

        low, width = self.bounds[:, 0], np.diff(self.bounds, axis=1)[:, 0]
        loops = self.loops.mean(axis=0, keepdims=True) if self.fit_to == "means" else self.loops
        x = ((loops - low) / width).reshape(-1, self.loops.shape[-1])
        gmm = GaussianMixture(
            self.components, covariance_type=self.covariance, reg_covar=1e-4, random_state=0
        ).fit(x)
        cov = gmm.covariances_
        if self.covariance == "diag":
            cov = np.stack([np.diag(c) for c in cov])
        object.__setattr__(self, "_weights", gmm.weights_)
        object.__setattr__(self, "_means", gmm.means_)
        object.__setattr__(self, "_chol", np.linalg.cholesky(cov))

    def draw(self, n_sets: int, n_clips: int, rng: np.random.Generator) -> np.ndarray:
        n = int(n_sets) * int(n_clips)
        comp = rng.choice(len(self._weights), size=n, p=self._weights)
        eps = rng.standard_normal((n, self._means.shape[1]))
        unit = self._means[comp] + np.einsum("nij,nj->ni", self._chol[comp], eps)
        low, width = self.bounds[:, 0], np.diff(self.bounds, axis=1)[:, 0]
        return np.clip(low + unit * width, self.bounds[:, 0], self.bounds[:, 1])


FAMILIES = {
    "fitted: independent normal": (1, "diag"),
    "fitted: correlated normal": (1, "full"),
    "fitted: 2 independent modes": (2, "diag"),
    "fitted: 2 correlated modes": (2, "full"),
}


def pack_rows(
    dataset: Path,
    split: str | None,
    estimator: PopulationEstimator,
    seed: int,
    decompose: bool = False,
    families: tuple[str, ...] = (),
) -> list[dict]:
    """Check rows of both predictives for every pack of ``dataset`` (one split)."""
    data = load_dataset(dataset)
    clips = data.clips
    if split is not None:
        clips = clips[np.flatnonzero((clips.meta["split"] == split).to_numpy())]
    fit = fit_groups(clips, estimator=estimator, by="pack", loops=True, n_cap=1024, seed=seed)
    packs = clips.meta["pack"].to_numpy()
    rows = []
    for group in fit.groups:
        real = clips[np.flatnonzero(packs == group.name)]
        if len(real) < MIN_CLIPS or group.loops is None:
            continue
        models = {
            "new loops": PopulationPredictive(group.hyper, estimator.population),
            "replicated loops": LoopPredictive(group.loops),
        }
        if decompose:
            models["new loops, median psi"] = PointPopulationPredictive(
                group.hyper, estimator.population
            )
            models["shuffled knobs"] = ShuffledLoopPredictive(group.loops)
        bounds = estimator.population.bounds
        for fit_to in families:
            for kind, (k, cov) in FAMILIES.items():
                name = f"{kind} (loop {fit_to})"
                models[name] = FittedFamilyPredictive(group.loops, bounds, k, cov, fit_to)
        for kind, model in models.items():
            check = check_group(group.name, real, model, seed=seed, n_verdict_sets=0)
            row = {"pack": group.name, "split": split or "", "kind": kind, "n": len(real)}
            row.update({c: check.row.get(c, np.nan) for c in COLUMNS})
            rows.append(row)
        shown = rows[-len(models) :]
        print(f"  {group.name}: " + ", ".join(f"{r['kind']} {r['c2st']:.3f}" for r in shown))
    return rows


def main() -> None:
    from fidelity import add_corpus_arguments, corpus_splits

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_corpus_arguments(parser)
    parser.add_argument(
        "--decompose",
        action="store_true",
        help="also new loops from the posterior-median ψ, and the loops' draws with knobs "
        "shuffled across loops (which of ψ's width, the population family and the knobs' "
        "independence the classifier sees)",
    )
    parser.add_argument(
        "--families",
        nargs="*",
        choices=("draws", "means"),
        default=(),
        help="also new loops from Gaussian families fitted to the loops' posterior draws "
        "(pooled) and/or means: independent or correlated knobs, one or two modes (which "
        "structure a richer population family would need)",
    )
    args = parser.parse_args()

    estimator = PopulationEstimator.load(args.model) if args.model else load_shipped()
    t0 = time.perf_counter()
    out: dict[str, object] = {"model": args.model or "shipped", "splits": args.splits}
    with tempfile.TemporaryDirectory() as tmp:
        for corpus, path, splits in corpus_splits(args, Path(tmp)):
            table = pd.DataFrame(
                [
                    r
                    for s in splits
                    for r in pack_rows(path, s, estimator, args.seed, args.decompose, args.families)
                ]
            )
            medians = table.groupby("kind")[list(COLUMNS)].median().round(3)
            print(medians.to_string())
            out[corpus] = {
                "medians": medians.to_dict("index"),
                "packs": table.round(4).to_dict("records"),
            }
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out, default=float))


if __name__ == "__main__":
    main()
