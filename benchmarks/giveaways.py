"""Which features give generated loops away? Per-feature AUC, real pack vs its predictive.

Run (from the repository root)::

    .venv/bin/python benchmarks/giveaways.py [--model MODEL_DIR] [--demo-dataset DIR]
        [--groove-dataset DIR] [--splits train valid] [--top 15] [--hats] [--corpora ...]

For every pack of at least 16 clips (the demo corpus whole; Groove's ``--splits``, never
the test split by default), the pack is fitted with the model (``fit_groups``, per-loop
draws included) and two predictive sets of ``max(256, N)`` clips are simulated as the
checks simulate them (:func:`technorhythm.posteriors.checks.simulate_predictive`): **new
loops** (the population, what ``fit`` checks) and **replicated loops** (every loop's own
posterior, :class:`technorhythm.posteriors.LoopPredictive`: the best this model and
simulator give). For each of the C2ST's per-clip features
(:func:`technorhythm.diagnostics.c2st.c2st_features`) the univariate ROC AUC of real
against generated clips is computed; |AUC − 0.5| is how well that one feature alone
separates them (0 = not at all, 0.5 = perfectly).

The baseline, measured in the same run, is each pack's noise floor: the AUC between two
halves of the real pack split by source file (the same feature, no generator involved),
averaged over 20 random splits. A feature *gives the loops away* in a pack when its
|AUC − 0.5| exceeds that floor by 0.15. The benchmark prints, per corpus and predictive,
the features that do so in the most packs, with the median AUC and the direction (whether
generated clips have the larger values). ``--hats`` also counts clips by their closed-hat
8th grid (beats only, off-beats only, straight 8ths), clips whose four bars play the same
kick pattern and bars whose kicks differ from bar 1's on few or many steps, and gives the
spread of the off-beat 8th hats' velocity relative to the beat hats', in the real corpora,
the prior and the Groove train fits' two predictives (:func:`hat_grid`).
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))

from technorhythm.corpus import load_dataset  # noqa: E402
from technorhythm.diagnostics.c2st import C2ST_FEATURE_NAMES, c2st_features  # noqa: E402
from technorhythm.inference import load_shipped  # noqa: E402
from technorhythm.inference.population_estimator import PopulationEstimator  # noqa: E402
from technorhythm.posteriors import LoopPredictive, PopulationPredictive  # noqa: E402
from technorhythm.posteriors.checks import simulate_predictive  # noqa: E402
from technorhythm.posteriors.fit import fit_groups  # noqa: E402

MIN_CLIPS = 16
MARGIN = 0.15
SPLITS = 20


def feature_auc(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ROC AUC of every column of ``b`` (label 1) against ``a`` (label 0); 0.5 for constants."""
    y = np.r_[np.zeros(len(a)), np.ones(len(b))]
    x = np.vstack([a, b])
    out = np.full(x.shape[1], 0.5)
    for j in range(x.shape[1]):
        if np.ptp(x[:, j]) > 0:
            out[j] = roc_auc_score(y, x[:, j])
    return out


def noise_floor(real: np.ndarray, files: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mean |AUC − 0.5| per feature between two halves of the real clips, split by file."""
    names = np.unique(files)
    if len(names) < 2:
        return np.full(real.shape[1], np.nan)
    dev = []
    for _ in range(SPLITS):
        half = set(rng.permutation(names)[: len(names) // 2])
        mask = np.array([f in half for f in files])
        dev.append(np.abs(feature_auc(real[mask], real[~mask]) - 0.5))
    return np.mean(dev, axis=0)


def pack_rows(dataset: Path, split: str | None, estimator, seed: int) -> list[dict]:
    """One row per pack × predictive × feature: AUC, |AUC − 0.5|, floor."""
    clips = load_dataset(dataset).clips
    if split is not None:
        clips = clips[np.flatnonzero((clips.meta["split"] == split).to_numpy())]
    fit = fit_groups(clips, estimator=estimator, by="pack", loops=True, n_cap=1024, seed=seed)
    packs = clips.meta["pack"].to_numpy()
    file_col = "source" if "source" in clips.meta else "clip_id"
    rng = np.random.default_rng(seed)
    rows = []
    for group in fit.groups:
        members = np.flatnonzero(packs == group.name)
        if len(members) < MIN_CLIPS or group.loops is None:
            continue
        real = clips[members]
        x_real = c2st_features(real)
        floor = noise_floor(x_real, real.meta[file_col].astype(str).to_numpy(), rng)
        models = {
            "new loops": PopulationPredictive(group.hyper, estimator.population),
            "replicated loops": LoopPredictive(group.loops),
        }
        n = max(256, len(real))
        for kind, model in models.items():
            generated, _ = simulate_predictive(real, model, n_clips=n, seed=seed, name=group.name)
            auc = feature_auc(x_real, c2st_features(generated))
            for j, name in enumerate(C2ST_FEATURE_NAMES):
                rows.append(
                    {
                        "pack": group.name,
                        "split": split or "",
                        "kind": kind,
                        "feature": name,
                        "auc": auc[j],
                        "dev": abs(auc[j] - 0.5),
                        "floor": floor[j],
                    }
                )
        print(f"  {group.name}: {len(real)} clips", flush=True)
    return rows


def hat_grid(clips) -> dict:
    """Shares of clips by closed-hat 8th grid (beats only, off-beats only, straight 8ths), of
    clips whose four bars have the same kick pattern, of bars 2–4 whose kicks differ from bar
    1's on 1–2 steps and on 3 or more (a drummer's small edits against bars drawn afresh),
    and the 10th, 50th and 90th percentiles, over clips with four or more hats on both, of
    the mean velocity of their off-beat 8th hats over that of their beat hats (the simulator
    plays the whole 8th grid at one level: 1 but for jitter)."""
    from technorhythm.clips import HH_CLOSED, KICK

    on = clips.velocity[:, HH_CLOSED] > 0
    beat, off8 = on[:, 0::4].sum(axis=1), on[:, 2::4].sum(axis=1)
    kick = (clips.velocity[:, KICK] > 0).reshape(len(on), 4, 16)
    v = clips.velocity[:, HH_CLOSED].astype(np.float64)
    both = (beat >= 4) & (off8 >= 4)
    ratio = (v[both, 2::4].sum(axis=1) / off8[both]) / (v[both, 0::4].sum(axis=1) / beat[both])
    q10, q50, q90 = np.percentile(ratio, [10, 50, 90]) if both.any() else [np.nan] * 3
    edits = (kick[:, 1:] != kick[:, :1]).sum(axis=2)  # steps where bars 2-4 differ from bar 1
    return {
        "kick_bar_edits_1_2": float(((edits >= 1) & (edits <= 2)).mean()),
        "kick_bar_edits_3_up": float((edits >= 3).mean()),
        "offbeat_to_beat_velocity_q10": float(q10),
        "offbeat_to_beat_velocity_q50": float(q50),
        "offbeat_to_beat_velocity_q90": float(q90),
        "kick_bars_repeat": float((kick == kick[:, :1]).all(axis=(1, 2)).mean()),
        "clips": int(len(on)),
        "beats_only": float(((beat >= 8) & (off8 < 4)).mean()),
        "offbeats_only": float(((off8 >= 8) & (beat < 4)).mean()),
        "straight_8ths": float(((beat >= 8) & (off8 >= 8)).mean()),
        "offbeat_share": float(off8.sum() / max(1, (beat + off8).sum())),
    }


def hat_rows(demo: Path | None, groove: Path | None, estimator, seed: int) -> dict:
    """The closed-hat grid of the real corpora, the prior and the Groove train fits."""
    from technorhythm.inference.prior import sample_prior
    from technorhythm.simulator import simulate

    rows = {}
    if groove is not None:
        clips = load_dataset(groove).clips
        keep = clips.meta["split"].isin(["train", "valid"]).to_numpy()
        rows["Groove train + valid, real"] = hat_grid(clips[np.flatnonzero(keep)])
    if demo is not None:
        rows["demo, real"] = hat_grid(load_dataset(demo).clips)
    rng = np.random.default_rng(seed)
    rows["simulator, θ from the prior"] = hat_grid(simulate(sample_prior(20000, rng), seed=seed))
    if groove is not None:
        clips = load_dataset(groove).clips
        train = clips[np.flatnonzero((clips.meta["split"] == "train").to_numpy())]
        fit = fit_groups(train, estimator=estimator, by="pack", loops=True, n_cap=1024, seed=seed)
        for kind in ("new loops", "replicated loops"):
            theta = []
            for group in fit.groups:
                model = (
                    PopulationPredictive(group.hyper, estimator.population)
                    if kind == "new loops"
                    else LoopPredictive(group.loops)
                )
                theta.append(model.draw(1, 200, rng))
            rows[f"Groove train, {kind}"] = hat_grid(simulate(np.concatenate(theta), seed=seed))
    print("  closed-hat 8th grid (shares of clips):")
    print(pd.DataFrame(rows).T.round(3).to_string())
    return rows


def summarise(table: pd.DataFrame, top: int) -> dict:
    """Per predictive: the features that give loops away in the most packs."""
    table = table.assign(gives=table["dev"] > table["floor"] + MARGIN)
    out = {}
    for kind, part in table.groupby("kind", sort=False):
        by = part.groupby("feature").agg(
            packs=("gives", "sum"),
            median_auc=("auc", "median"),
            median_dev=("dev", "median"),
            median_floor=("floor", "median"),
        )
        by = by.sort_values(["packs", "median_dev"], ascending=False).head(top)
        n_packs = part["pack"].nunique()
        print(f"  {kind} ({n_packs} packs): features that give the loops away in the most packs")
        print(by.round(3).to_string())
        out[kind] = {"packs": int(n_packs), "top": by.round(4).reset_index().to_dict("records")}
    return out


def main() -> None:
    from fidelity import add_corpus_arguments, corpus_datasets

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_corpus_arguments(parser)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument(
        "--hats",
        action="store_true",
        help="also count clips by closed-hat 8th grid (beats only, off-beats only, straight "
        "8ths) for the real corpora, the prior and the Groove train fits",
    )
    args = parser.parse_args()

    estimator = PopulationEstimator.load(args.model) if args.model else load_shipped()
    t0 = time.perf_counter()
    out: dict[str, object] = {"model": args.model or "shipped", "splits": args.splits}
    with tempfile.TemporaryDirectory() as tmp:
        wanted = [*args.corpora, *(c for c in ("demo", "groove") if args.hats)]
        paths = corpus_datasets(
            list(dict.fromkeys(wanted)), Path(tmp), args.demo_dataset, args.groove_dataset
        )
        for corpus in args.corpora:
            if corpus not in paths:
                continue
            path = paths[corpus]
            print(f"== {corpus}")
            splits = [None] if corpus == "demo" else args.splits
            table = pd.DataFrame(
                [r for s in splits for r in pack_rows(path, s, estimator, args.seed)]
            )
            out[corpus] = summarise(table, args.top)
        if args.hats:
            out["hats"] = hat_rows(paths.get("demo"), paths.get("groove"), estimator, args.seed)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out, default=float))


if __name__ == "__main__":
    main()
