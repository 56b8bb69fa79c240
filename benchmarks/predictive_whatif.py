"""What-if posterior predictive checks: would the new loops pass if the fit read X right?

Run: ``.venv/bin/python benchmarks/predictive_whatif.py [--model DIR] --demo-dataset DIR
[--groove-dataset DIR] [--corpora demo] [--repeats 5] [--levels pack] [--accent pack]
[--jitter zero] [--spread-scale S] [--velocity-normal] [--out DIR]``

Each corpus is fitted with ``technorhythm fit --no-check`` (check seeds 0 … R−1, as
``benchmarks/fidelity.py`` does), then checked twice with the same seed: as fitted (the
baseline, measured in the same run) and with every group's predictive changed
(:func:`technorhythm.posteriors.check_io.check_fit`'s ``adjust``):

``--levels pack``
    the four velocity levels of every new loop set to the pack's own: the median velocity of
    its accented hits (kicks on the beats, snares on beats 2 and 4, closed hats on the 8th
    grid, open hats on the off-beat 8ths), the same in every loop, within the knobs' ranges.
``--accent pack``
    The three accents set to 1 − (median velocity of the pack's unaccented hits: kicks and hats off
    the 8th grid, snares off the backbeat) / (median of its accented levels).
``--jitter zero``
    The three jitters (``snare_jitter``, ``kick_jitter``, ``hat_jitter``) 0 in every loop.
``--spread-scale S``
    every ψ draw's spreads multiplied by S (population models of one pack only).
``--velocity-normal``
    the velocity knobs of every new loop drawn from the population's normal per knob
    (location and spread read from the hits), as ``fit`` did before new loops took the
    velocity reads of one of the pack's loops together
    (:class:`technorhythm.posteriors.PopulationPredictive`): the fit's predictive without
    its ``reads``. Measured before that shipped, the reverse what-if (reads added to the
    normal predictive) took the demo from 0.758 to 0.706.

These are oracles: they answer whether a better read of some knobs would make the new loops
pass, before anything is trained. The headline is the median over packs of each pack's mean
C2ST over the repeats (the ``all`` groups left out), as in ``fidelity.py``; the verdict is not
run. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fidelity import _run, corpus_datasets  # noqa: E402
from technorhythm.clips import INSTRUMENTS, STEPS_PER_BAR, ClipBatch  # noqa: E402
from technorhythm.posteriors.check_io import check_fit  # noqa: E402
from technorhythm.posteriors.predictive_models import (  # noqa: E402
    CorpusPredictive,
    PopulationPredictive,
)
from technorhythm.simulator.knobs import KNOB_NAMES, get_knob  # noqa: E402
from technorhythm.simulator.patterns import ACCENT_KNOBS, JITTER_KNOBS  # noqa: E402

_POS = np.arange(4 * STEPS_PER_BAR) % STEPS_PER_BAR
_ACCENTED = {  # level knob → (instrument, bar positions of its accented hits)
    "kick_velocity": ("kick", _POS % 4 == 0),
    "snare_velocity": ("snare", np.isin(_POS, (4, 12))),
    "hat_velocity": ("hh_closed", _POS % 2 == 0),
    "open_hat_velocity": ("hh_open", _POS % 4 == 2),
}
_UNACCENTED = (
    ("kick", _POS % 2 == 1),
    ("snare", ~np.isin(_POS, (4, 12))),
    ("hh_closed", _POS % 2 == 1),
)


def _hits(real: ClipBatch, instrument: str, where: np.ndarray) -> np.ndarray:
    v = real.velocity[:, INSTRUMENTS.index(instrument)][:, where]
    return v[v > 0].astype(np.float64)


def pack_values(real: ClipBatch, levels: bool, accent: bool, jitter: bool) -> dict[str, float]:
    """The knob values the what-if puts into every new loop of this pack."""
    out: dict[str, float] = {}
    found = {}
    for knob, (instrument, where) in _ACCENTED.items():
        hits = _hits(real, instrument, where)
        if len(hits):
            found[knob] = float(np.median(hits))
    if levels:
        out.update(found)
    if accent and found:
        soft = np.concatenate([_hits(real, i, w) for i, w in _UNACCENTED])
        if len(soft):
            loud = np.median(list(found.values()))
            out.update(
                dict.fromkeys(ACCENT_KNOBS, float(np.clip(1 - np.median(soft) / loud, 0, 1)))
            )
    if jitter:
        out.update(dict.fromkeys(JITTER_KNOBS, 0.0))
    # a real pack may play softer than the lowest level (Groove's open hats: median 8)
    return {k: float(np.clip(v, get_knob(k).low, get_knob(k).high)) for k, v in out.items()}


@dataclass(frozen=True)
class FixedKnobs:
    """A predictive model whose loops all play ``values`` (knob → value) for some knobs."""

    model: object
    values: dict

    def draw(self, n_sets: int, n_clips: int, rng: np.random.Generator) -> np.ndarray:
        theta = np.array(self.model.draw(n_sets, n_clips, rng), dtype=np.float64)
        for knob, value in self.values.items():
            theta[:, KNOB_NAMES.index(knob)] = value
        return theta


def without_reads(model):
    """The predictive model with every population's velocity knobs from its normal."""
    if isinstance(model, CorpusPredictive):
        return CorpusPredictive([without_reads(p) for p in model.packs], model.sizes)
    if isinstance(model, PopulationPredictive):
        return PopulationPredictive(model.hyper, model.population)
    return model


def adjuster(args):
    """The ``adjust`` of :func:`check_fit` for the options."""

    def adjust(name: str, real: ClipBatch, model):
        if args.spread_scale != 1.0 and isinstance(model, PopulationPredictive):
            k = model.population.n_knobs
            hyper = np.array(model.hyper, dtype=np.float64)
            hyper[:, k:] *= args.spread_scale
            model = PopulationPredictive(hyper, model.population, model.reads, model.read_se)
        model = without_reads(model) if args.velocity_normal else model
        values = pack_values(
            real, args.levels == "pack", args.accent == "pack", args.jitter == "zero"
        )
        return FixedKnobs(model, values) if values else model

    return adjust


def headline(tables: list[pd.DataFrame]) -> dict:
    """Median over packs of the per-pack means over repeats, and the per-repeat medians."""
    every = pd.concat([t.assign(repeat=r) for r, t in enumerate(tables)], ignore_index=True)
    packs = every[~every["group"].str.startswith("all")]
    mean = packs.groupby("group")[["c2st", "d_ratio", "onset_in_band"]].mean()
    return {
        "median_c2st": round(float(mean["c2st"].median()), 3),
        "median_c2st_by_repeat": [
            round(float(packs.loc[packs["repeat"] == r, "c2st"].median()), 3)
            for r in range(len(tables))
        ],
        "median_d_ratio": round(float(mean["d_ratio"].median()), 2),
        "median_onset_in_band": round(float(mean["onset_in_band"].median()), 3),
        "c2st_by_pack": {g: round(float(v), 3) for g, v in mean["c2st"].items()},
    }


def check_corpus(corpus: str, dataset: Path, args, tmp: Path) -> dict:
    """Fit ``dataset`` once per check seed (and split), check each fit as it is and with the
    what-if: the headline figures of both and their ratio."""
    from technorhythm.corpus import load_dataset

    data = load_dataset(dataset)  # once: both checks of every fit read the same clips
    adjust = adjuster(args)
    splits = [None] if corpus == "demo" else args.splits
    base, changed = [], []
    t0 = time.perf_counter()
    for seed in range(args.repeats):
        b_parts, c_parts = [], []
        for split in splits:
            fit_dir = tmp / f"{corpus}_{split}_{seed}"
            cmd = ["fit", str(dataset), "--by", "pack", "--add-all", "--n-cap", "1024",
                   "--no-check", "--no-loops", "--seed", str(seed), "--out", str(fit_dir),
                   "--force"]  # fmt: skip
            cmd += ["--model", args.model] if args.model else []
            cmd += ["--split", split] if split else []
            _run(cmd)
            for parts, fn in ((b_parts, None), (c_parts, adjust)):
                check = check_fit(fit_dir, data, seed=seed, n_verdict_sets=0, adjust=fn)
                parts.append(check.table().assign(split=split or ""))
        base.append(pd.concat(b_parts, ignore_index=True))
        changed.append(pd.concat(c_parts, ignore_index=True))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for label, tables in (("baseline", base), ("whatif", changed)):
            every = pd.concat([t.assign(repeat=r) for r, t in enumerate(tables)])
            every.to_csv(args.out / f"{corpus}_{label}.csv", index=False, float_format="%.4g")
    b, c = headline(base), headline(changed)
    ratio = round(c["median_c2st"] / b["median_c2st"], 3)
    print(f"== {corpus}: C2ST as fitted {b['median_c2st']} (by check seed "
          f"{b['median_c2st_by_repeat']}), what-if {c['median_c2st']} (by check seed "
          f"{c['median_c2st_by_repeat']}), ratio {ratio}; D / floor {b['median_d_ratio']} → "
          f"{c['median_d_ratio']}, onsets in band {b['median_onset_in_band']} → "
          f"{c['median_onset_in_band']}")  # fmt: skip
    return {
        "baseline": b,
        "whatif": c,
        "c2st_ratio_to_baseline": ratio,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    parser.add_argument("--demo-dataset", type=Path, help="ingested demo corpus")
    parser.add_argument("--groove-dataset", type=Path, help="ingested, split Groove")
    parser.add_argument(
        "--splits", nargs="+", default=["train", "valid"], choices=["train", "valid"]
    )
    parser.add_argument("--corpora", nargs="+", default=["demo"], choices=["demo", "groove"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--levels", choices=["fit", "pack"], default="fit")
    parser.add_argument("--accent", choices=["fit", "pack"], default="fit")
    parser.add_argument("--jitter", choices=["fit", "zero"], default="fit")
    parser.add_argument("--spread-scale", type=float, default=1.0)
    parser.add_argument("--velocity-normal", action="store_true")
    parser.add_argument("--out", type=Path, help="folder for the per-repeat check tables")
    args = parser.parse_args()
    if args.repeats < 1 or args.spread_scale < 0:
        parser.error("--repeats must be at least 1 and --spread-scale at least 0")
    tmp = Path(tempfile.mkdtemp(prefix="technorhythm-whatif-"))
    result: dict = {"model": args.model or "shipped", "whatif": {
        "levels": args.levels, "accent": args.accent, "jitter": args.jitter,
        "spread_scale": args.spread_scale, "velocity_normal": args.velocity_normal}}  # fmt: skip
    try:
        datasets = corpus_datasets(args.corpora, tmp, args.demo_dataset, args.groove_dataset)
        for corpus, dataset in datasets.items():
            result[corpus] = check_corpus(corpus, dataset, args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
