"""Clip oracles: how far would new loops get if one part of them were the pack's own?

Run (from the repository root)::

    .venv/bin/python benchmarks/clip_oracles.py [--model MODEL_DIR] [--demo-dataset DIR]
        [--groove-dataset DIR] [--splits train valid] [--corpora demo groove] [--seed 0]
        [--repeats 1] [--oracles rows:kick rows:cymbal velocity:hits velocity:means
         edits:kick:0.5 halves:kick:0.3 yield:0.45 tails:0.55 ...]

Every pack is fitted with ``fit_groups`` (as ``technorhythm fit --by pack --n-cap 1024``,
per-loop draws left out) and its new loops are simulated as the checks simulate them
(:func:`technorhythm.posteriors.checks.simulate_predictive`, with the fit's velocity reads).
The baseline, measured in the same run, is the checks' C2ST of those loops as they are
(:func:`technorhythm.diagnostics.predictive.run_predictive_check`, all features and each
feature family). Each oracle then changes the same new loops and is checked again with the
same seeds:

``rows:INSTRUMENTS``
    each new loop's rows of the comma-separated instruments (``kick``, ``snare``,
    ``hh_closed``, ``hh_open``, ``cymbal``) replaced by those of a random loop of the pack
    (onsets, velocities and timing): the most any change to those instruments alone could
    gain, within the features' sight.
``velocity:hits[:INSTRUMENTS]``
    each new loop's velocities, per instrument and beat class (beat, off-beat 8th, off-beat
    16th), drawn from the hits of that instrument and class in a random loop of the pack
    (its other classes where it has none there): what a velocity model as rich as the pack's
    own loops would give, onsets and timing unchanged. With ``:INSTRUMENTS``
    (comma-separated) only those instruments' velocities change.
``velocity:means[:INSTRUMENTS]``
    each new loop's velocities shifted, per instrument and beat class, to the mean of those
    hits in a random loop of the pack, their spread around it kept: the part of
    ``velocity:hits`` that per-class levels (accent structure) explain.

``edits:…``, ``halves:…``, ``yield:…``, ``tails:…``
    mechanism what-ifs (``whatifs.py``): the new loops changed as a candidate mechanism
    would change them, with one strength for every pack and nothing from the pack's loops.

The oracles are upper bounds and diagnoses, not models: they say which part of the simulator
limits the checks before anything is built. The headline per oracle is the median over packs
of each pack's mean C2ST over the repeats (``all`` groups left out), as in ``fidelity.py``,
and its ratio to the baseline. The last line is one JSON object.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fidelity import add_corpus_arguments, corpus_splits  # noqa: E402
from technorhythm.clips import INSTRUMENTS, ClipBatch  # noqa: E402
from technorhythm.corpus import load_dataset  # noqa: E402
from technorhythm.diagnostics.predictive import (  # noqa: E402
    check_predictive,
    run_predictive_check,
)
from technorhythm.inference import load_shipped  # noqa: E402
from technorhythm.inference.population_estimator import PopulationEstimator  # noqa: E402
from technorhythm.posteriors.check_io import predictive_models  # noqa: E402
from technorhythm.posteriors.checks import group_seed, simulate_predictive  # noqa: E402
from technorhythm.posteriors.fit import fit_groups  # noqa: E402
from whatifs import BEAT_CLASS, apply_whatif, instrument_rows, parse_whatif  # noqa: E402
from whatifs import KINDS as WHATIFS  # noqa: E402

FAMILIES = ("c2st", "c2st_onsets", "c2st_velocity", "c2st_timing", "c2st_kick")
N_PREDICTIVE = 256


def parse_oracle(spec: str) -> tuple[str, object]:
    """``rows:kick,snare`` → ("rows", [0, 1]); ``velocity:hits`` or ``velocity:means``,
    optionally ``:INSTRUMENTS`` (default all) → ("velocity", (mode, rows))."""
    kind, _, arg = spec.partition(":")
    if kind == "rows":
        return kind, instrument_rows(arg)
    mode, _, names = arg.partition(":")
    if kind == "velocity" and mode in ("hits", "means"):
        return kind, (mode, instrument_rows(names) if names else list(range(len(INSTRUMENTS))))
    if kind in WHATIFS:
        return "whatif", parse_whatif(spec)
    raise ValueError(
        f"unknown oracle {spec!r}: rows:INSTRUMENTS, velocity:hits[:INSTRUMENTS], "
        f"velocity:means[:INSTRUMENTS] or a what-if ({', '.join(WHATIFS)}; whatifs.py)"
    )


def with_rows(new: ClipBatch, real: ClipBatch, rows: list[int], rng) -> ClipBatch:
    """``new`` with ``rows`` of every loop taken from a random loop of ``real``."""
    velocity, offset = new.velocity.copy(), new.offset.copy()
    pick = rng.integers(0, len(real), size=len(new))
    velocity[:, rows] = real.velocity[pick][:, rows]
    offset[:, rows] = real.offset[pick][:, rows]
    return ClipBatch(velocity, offset, new.bpm, new.meta)


def _class_pool(row: np.ndarray, cls: int) -> np.ndarray:
    """The velocities of one loop's row in beat class ``cls`` (all its hits if none)."""
    hit = row > 0
    pool = row[hit & (cls == BEAT_CLASS)]
    return pool if len(pool) else row[hit]


def with_velocities(new: ClipBatch, real: ClipBatch, mode: str, rows: list[int], rng) -> ClipBatch:
    """``new`` with each loop's velocities of ``rows`` per instrument and beat class drawn
    from (``hits``) or shifted to the mean of (``means``) those of a random loop of
    ``real``."""
    velocity = new.velocity.copy()
    for i, source in enumerate(real.velocity[rng.integers(0, len(real), size=len(new))]):
        for r in rows:
            if not (source[r] > 0).any():
                continue
            for cls in range(3):
                steps = np.flatnonzero((velocity[i, r] > 0) & (cls == BEAT_CLASS))
                if not len(steps):
                    continue
                pool = _class_pool(source[r], cls).astype(np.float64)
                if mode == "hits":
                    values = rng.choice(pool, size=len(steps))
                else:
                    own = velocity[i, r, steps].astype(np.float64)
                    values = np.rint(own + pool.mean() - own.mean())
                velocity[i, r, steps] = np.clip(values, 1, 127)
    return ClipBatch(velocity, new.offset, new.bpm, new.meta)


def changed(new: ClipBatch, real: ClipBatch, oracle: tuple[str, object], rng) -> ClipBatch:
    """``new`` changed by one oracle of :func:`parse_oracle`, from the loops of ``real``."""
    kind, arg = oracle
    if kind == "rows":
        return with_rows(new, real, arg, rng)
    if kind == "whatif":
        return apply_whatif(new, arg, rng)
    mode, rows = arg
    return with_velocities(new, real, mode, rows, rng)


def _packs(clips: ClipBatch, split: str | None) -> ClipBatch:
    """The clips of one split (all of them for None)."""
    if split is None:
        return clips
    return clips[np.flatnonzero((clips.meta["split"] == split).to_numpy())]


def check_rows(dataset: Path, split, estimator, oracles: dict, seed: int) -> list[dict]:
    """One row per pack × (baseline and each oracle): the checks' C2ST by feature family."""
    clips = _packs(load_dataset(dataset).clips, split)
    fit = fit_groups(clips, estimator=estimator, by="pack", loops=False, n_cap=1024, seed=seed)
    packs = clips.meta["pack"].to_numpy()
    names = [g.name for g in fit.groups]
    sizes = [int((packs == n).sum()) for n in names]
    reads = {g.name: (g.reads, g.read_se) for g in fit.groups if g.reads is not None}
    models = predictive_models(
        names, [g.hyper for g in fit.groups], list(fit.knob_names), sizes, corpus=False,
        reads=reads,
    )  # fmt: skip
    rows = []
    for name, model in zip(names, models, strict=True):
        real = clips[np.flatnonzero(packs == name)]
        n = max(len(real), N_PREDICTIVE)
        new, prior = simulate_predictive(real, model, n_clips=n, seed=seed, name=name)
        check_seed = group_seed(seed, name, 30)
        variants = {"baseline": new}
        for label, oracle in oracles.items():
            rng = np.random.default_rng([seed, len(real), sum(map(ord, label))])
            variants[label] = changed(new, real, oracle, rng)
        for label, clips_new in variants.items():
            check = run_predictive_check(real, clips_new, prior, seed=check_seed)
            figures = check_predictive(check)
            rows.append(
                {"pack": name, "split": split or "", "seed": seed, "oracle": label}
                | {f: figures.get(f) for f in FAMILIES}
            )
        print(f"  {name}: {len(real)} clips", flush=True)
    return rows


def headline(table: pd.DataFrame) -> dict:
    """Per oracle: the median over packs of each pack's mean C2ST (and per family) over the
    repeats, and the ratio of the C2ST to the baseline's."""
    means = table.groupby(["oracle", "pack"])[list(FAMILIES)].mean()
    med = means.groupby("oracle").median()
    base = float(med.loc["baseline", "c2st"])
    out = {}
    for label, row in med.iterrows():
        out[label] = {f: round(float(row[f]), 3) for f in FAMILIES} | {
            "c2st_ratio_to_baseline": round(float(row["c2st"]) / base, 3)
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_corpus_arguments(parser)
    parser.add_argument("--repeats", type=int, default=1, help="fit seeds seed … seed + R − 1")
    parser.add_argument(
        "--oracles",
        nargs="+",
        default=[
            "rows:kick",
            "rows:snare",
            "rows:hh_closed",
            "rows:hh_open",
            "rows:cymbal",
            "velocity:hits",
            "velocity:means",
        ],  # fmt: skip
    )
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    try:
        oracles = {spec: parse_oracle(spec) for spec in args.oracles}
    except ValueError as err:
        parser.error(str(err))
    estimator = PopulationEstimator.load(args.model) if args.model else load_shipped()
    t0 = time.perf_counter()
    out: dict[str, object] = {"model": args.model or "shipped", "splits": args.splits}
    with tempfile.TemporaryDirectory() as tmp:
        for corpus, path, splits in corpus_splits(args, Path(tmp)):
            rows = [
                r
                for seed in range(args.seed, args.seed + args.repeats)
                for split in splits
                for r in check_rows(path, split, estimator, oracles, seed)
            ]
            result = headline(pd.DataFrame(rows))
            print(pd.DataFrame(result).T.to_string())
            out[corpus] = result
    out["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
