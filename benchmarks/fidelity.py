"""Benchmark: how close do loops generated from a fit come to the packs it was fitted to?

Run::

    .venv/bin/python benchmarks/fidelity.py [--model MODEL_DIR] [--demo-dataset DIR]
        [--groove-dataset DIR] [--splits train valid] [--corpora demo groove]
        [--repeats R] [--out docs/img/checks]

For each corpus it runs the user's command in a fresh process,
``technorhythm fit DATASET --by pack --add-all --n-cap 1024 --out OUT`` (the posterior
predictive checks run at the end of ``fit``), and reads ``OUT/check/check.csv``. Groove is
fitted one split at a time (``--split train``, ``--split valid``, …), so that no held-out
clip enters the ``all`` group of another split:

* **quality**, per corpus over its packs (the ``all`` group is reported apart): the median
  C2ST accuracy (real vs posterior predictive; 0.5 = indistinguishable), the median ratio
  D(real, posterior predictive) / D(real half, real half) — the baseline measured in the
  same run is that noise floor, and beside it the prior predictive's ratio — the share of
  packs (with ≥ 16 clips) whose posterior predictive is closer than the prior predictive,
  and the median share of onset-position bins inside the real pack's bootstrap band;
* **speed**: seconds of checks per pack (target ≤ 10 s) and for all packs (Groove target
  ≤ 180 s), against those targets.

Without ``--demo-dataset`` the demo corpus is rendered and ingested into a temporary
folder; without ``--groove-dataset`` Groove is ingested from ``$TECHNORHYTHM_GROOVE_DIR``
(or ``../shared/data/groove``) when present, and split by pack with seed 0. Groove packs
are checked for the splits in ``--splits`` only (default train and valid: the test pack is
held out and reported once, with ``--splits test``).

``--repeats R`` runs the fit and its checks R times with seeds 0 … R−1 (other posterior
draws, predictive loops and classifier folds; the same model and real packs) and reports
each group's mean over the repeats, plus the median C2ST of every repeat. A pack of 20–24
clips gives a C2ST whose sampling sd is about 0.06, and the demo's headline is a median of 4
such packs; the repeats separate that check noise from a difference between models.

Writes ``<corpus>_check.csv`` (with ``--repeats``, the per-group means; every repeat's
rows go to ``<corpus>_check_repeats.csv``), ``<corpus>_overview.png`` and ``fidelity.json`` to
``--out``. The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
MIN_CLIPS_CLOSER = 16
"""Packs with fewer clips are left out of the closer-than-prior share (wide noise floors)."""


def _exe() -> str:
    return str(Path(sys.executable).with_name("technorhythm"))


def _run(args: list[str]) -> tuple[str, float]:
    start = time.perf_counter()
    proc = subprocess.run([_exe(), *args], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"technorhythm {' '.join(args)} failed:\n{proc.stderr}")
    return proc.stdout, wall


def demo_dataset(tmp: Path) -> Path:
    from technorhythm.corpus import ingest, split_dataset
    from technorhythm.corpus.demo_corpus import render_demo_corpus

    render_demo_corpus(tmp / "demo_midi")
    ingest(tmp / "demo_midi", tmp / "demo_ds", progress=False)
    split_dataset(tmp / "demo_ds", ratios=(0.5, 0.25, 0.25), seed=0)
    return tmp / "demo_ds"


def groove_dataset(tmp: Path) -> Path | None:
    from technorhythm.corpus import ingest, split_dataset

    src = Path(os.environ.get("TECHNORHYTHM_GROOVE_DIR", ROOT.parent / "shared/data/groove"))
    if not (src / "info.csv").is_file():
        print(f"Groove not found at {src}; skipping it")
        return None
    ingest(src, tmp / "groove_ds", workers=1, progress=False)
    split_dataset(tmp / "groove_ds", seed=0)
    return tmp / "groove_ds"


def add_corpus_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the benchmarks that fit and check corpora with :func:`corpus_datasets`:
    ``--model``, ``--demo-dataset``, ``--groove-dataset``, ``--splits``, ``--corpora``,
    ``--seed``."""
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    parser.add_argument("--demo-dataset", type=Path, help="ingested, split demo corpus")
    parser.add_argument("--groove-dataset", type=Path, help="ingested Groove, split with seed 0")
    parser.add_argument("--splits", nargs="+", default=["train", "valid"])
    parser.add_argument("--corpora", nargs="+", default=["demo", "groove"])
    parser.add_argument("--seed", type=int, default=0)


def corpus_datasets(
    corpora: list[str], tmp: Path, demo: Path | None = None, groove: Path | None = None
) -> dict[str, Path]:
    """The datasets of ``corpora`` ("demo", "groove"): the given ones, else built once in
    ``tmp``; Groove is left out when its MIDI files are not found."""
    given = {"demo": demo, "groove": groove}
    build = {"demo": demo_dataset, "groove": groove_dataset}
    out = {}
    for corpus in corpora:
        path = given[corpus] or build[corpus](tmp)
        if path is not None:
            out[corpus] = path
    return out


def corpus_splits(args: argparse.Namespace, tmp: Path):
    """Yield ``(corpus, dataset, splits)`` for the corpora of :func:`add_corpus_arguments`'
    ``args`` (datasets from :func:`corpus_datasets`): the demo corpus whole (splits
    ``[None]``), Groove by ``args.splits``; each corpus announced as it starts."""
    paths = corpus_datasets(args.corpora, tmp, args.demo_dataset, args.groove_dataset)
    for corpus, path in paths.items():
        print(f"== {corpus}", flush=True)
        yield corpus, path, [None] if corpus == "demo" else list(args.splits)


def fit_and_check(
    dataset: Path,
    out: Path,
    model: str | None,
    split: str | None,
    seed: int = 0,
    reads: dict[str, str] | None = None,
) -> dict:
    """Fit + check one corpus (or one split of it) with the CLI; the check table and timings.
    ``reads``: how the fit reads each block (``fit``'s options ``velocities``, ``timing``,
    ``onsets``, ``kicks`` → ``likelihood`` or ``network``; a missing one: its default)."""
    args = ["fit", str(dataset), "--by", "pack", "--add-all", "--n-cap", "1024", "--out", str(out)]
    args += ["--seed", str(int(seed))]
    args += ["--no-loops"]  # the checks use the groups' hyperparameters, not per-loop draws
    if model:
        args += ["--model", model]
    if split:
        args += ["--split", split]
    for option, value in (reads or {}).items():
        if value:
            args += [f"--{option}", value]
    stdout, wall = _run([*args, "--force"])
    table = pd.read_csv(out / "check" / "check.csv", keep_default_na=False, na_values=[""])
    record = json.loads((out / "check" / "check.json").read_text())
    return {"table": table, "wall_s": wall, "check_s": record["timing_s"]["total_s"], "out": stdout}


AVERAGED = ("c2st", "d_ratio", "d_prior", "d_floor", "onset_in_band", "seconds")
"""Check-table columns averaged over repeats."""


def average_repeats(every: pd.DataFrame) -> pd.DataFrame:
    """One row per group of the repeats' rows ``every`` (a ``repeat`` column, 0 … R−1): the
    mean of :data:`AVERAGED`, the other columns from repeat 0; a group is closer than the
    prior, or flagged, when it is in at least half of the repeats."""
    first = every[every["repeat"] == 0].drop(columns="repeat").set_index("group")
    grouped = every.groupby("group", sort=False)
    out = first.copy()
    out[list(AVERAGED)] = grouped[list(AVERAGED)].mean().loc[first.index]
    for column in ("closer_than_prior", "flagged"):
        share = grouped[column].agg(lambda v: v.dropna().astype(float).mean()).loc[first.index]
        out[column] = share.map(lambda x: None if pd.isna(x) else bool(x >= 0.5))
    return out.reset_index()


def check_corpus(
    parts: list,
    name: str,
    model: str | None,
    seed: int,
    tmp: Path,
    reads: dict[str, str] | None = None,
) -> dict:
    """Fit + check every (dataset, split) of one corpus with one seed: the joined check
    table (each split's ``all`` group renamed ``all (split)``) and the summed timings."""
    tables, wall, check_s = [], 0.0, 0.0
    for dataset, split in parts:
        fit_dir = tmp / f"{name}_{split}_{seed}_fit"
        run = fit_and_check(dataset, fit_dir, model, split, seed, reads)
        t = run["table"]
        if split is not None:
            t = t.assign(group=t["group"].where(t["group"] != "all", f"all ({split})"))
        tables.append(t)
        wall += run["wall_s"]
        check_s += run["check_s"]
    return {"table": pd.concat(tables, ignore_index=True), "wall_s": wall, "check_s": check_s}


def figures(packs: pd.DataFrame) -> dict:
    """Headline figures over the packs (rows) of a check table."""
    big = packs[packs["n_real"] >= MIN_CLIPS_CLOSER]
    big = big[big["closer_than_prior"].notna()]  # no noise floor (too few files): no answer
    closer = big["closer_than_prior"].astype(bool)
    prior_ratio = packs["d_prior"] / packs["d_floor"]
    return {
        "packs": len(packs),
        "median_c2st": round(float(packs["c2st"].median()), 3),
        "c2st_range": [round(float(packs["c2st"].min()), 3), round(float(packs["c2st"].max()), 3)],
        "median_d_ratio": round(float(packs["d_ratio"].median()), 2),
        "median_d_ratio_prior": round(float(prior_ratio.median()), 2),
        "share_closer_than_prior": round(float(closer.mean()), 3),
        "packs_closer_than_prior": f"{int(closer.sum())} of {len(big)}",
        "median_onset_in_band": round(float(packs["onset_in_band"].median()), 3),
        "flagged": f"{int(packs['flagged'].astype(bool).sum())} of {len(packs)}",
        "check_s_per_pack_max": round(float(packs["seconds"].max()), 2),
        "check_s_per_pack_median": round(float(packs["seconds"].median()), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    parser.add_argument("--demo-dataset", help="ingested demo corpus (default: build one)")
    parser.add_argument("--groove-dataset", help="ingested, split Groove (default: build one)")
    parser.add_argument(
        "--splits",
        nargs="+",
        default=["train", "valid"],
        choices=["train", "valid", "test"],
        help="Groove splits whose packs are reported (default train valid; test is held out)",
    )
    parser.add_argument(
        "--corpora", nargs="+", default=["demo", "groove"], choices=["demo", "groove"]
    )
    parser.add_argument(
        "--repeats", type=int, default=1, help="fits and checks with seeds 0 … R−1 (default 1)"
    )
    parser.add_argument(
        "--velocities",
        choices=["likelihood", "network"],
        help="how the fits read the velocity knobs (default: `fit`'s default)",
    )
    parser.add_argument(
        "--timing",
        choices=["likelihood", "network"],
        help="how the fits read the timing knobs (default: `fit`'s default)",
    )
    parser.add_argument(
        "--onsets",
        choices=["likelihood", "network"],
        help="how the fits read the onset knobs (default: `fit`'s default)",
    )
    parser.add_argument(
        "--kicks",
        choices=["likelihood", "network"],
        help="how the fits read the kick's pulses and extra kicks (default: `fit`'s default)",
    )
    parser.add_argument("--out", default=str(ROOT / "docs" / "img" / "checks"))
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1; got {args.repeats}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="technorhythm-fidelity-"))
    result: dict = {"model": args.model or "shipped", "splits_groove": args.splits}
    result["repeats"] = args.repeats
    try:
        runs = {}
        if "demo" in args.corpora:
            demo = Path(args.demo_dataset) if args.demo_dataset else demo_dataset(tmp)
            runs["demo"] = [(demo, None)]
        if "groove" in args.corpora:
            groove = Path(args.groove_dataset) if args.groove_dataset else groove_dataset(tmp)
            if groove is not None:
                runs["groove"] = [(groove, split) for split in args.splits]
        from technorhythm.diagnostics.plots_checks import plot_check_overview

        reads = {o: getattr(args, o) for o in ("velocities", "timing", "onsets", "kicks")}
        for name, parts in runs.items():
            checked = [
                check_corpus(parts, name, args.model, seed, tmp, reads)
                for seed in range(args.repeats)
            ]
            repeats = [c["table"] for c in checked]
            wall = sum(c["wall_s"] for c in checked)
            check_s = sum(c["check_s"] for c in checked)
            table = repeats[0]
            if args.repeats > 1:
                every = pd.concat(
                    [t.assign(repeat=r) for r, t in enumerate(repeats)], ignore_index=True
                )
                every.to_csv(out / f"{name}_check_repeats.csv", index=False, float_format="%.4g")
                table = average_repeats(every)
            table.to_csv(out / f"{name}_check.csv", index=False, float_format="%.4g")
            plot_check_overview(table, out / f"{name}_overview.png")
            packs = table[~table["group"].str.startswith("all")]
            fig = figures(packs)
            if args.repeats > 1:
                fig["median_c2st_by_repeat"] = [
                    round(float(t.loc[~t["group"].str.startswith("all"), "c2st"].median()), 3)
                    for t in repeats
                ]
            fig["all_groups"] = {
                r["group"]: {
                    "c2st": round(float(r["c2st"]), 3),
                    "d_ratio": round(float(r["d_ratio"]), 2),
                }
                for r in table[table["group"].str.startswith("all")].to_dict("records")
            }
            if "split" in packs and (packs["split"] != "").any():
                fig["by_split"] = {s: figures(p) for s, p in packs.groupby("split")}
            fig["fit_and_check_wall_s"] = round(wall / args.repeats, 1)
            fig["check_s_all_groups"] = round(check_s / args.repeats, 1)
            fig["check_s_per_pack_target"] = 10
            fig["check_s_per_pack_ratio_to_target"] = round(fig["check_s_per_pack_max"] / 10, 2)
            if name == "groove":
                fig["check_s_all_target"] = 180
                fig["check_s_all_ratio_to_target"] = round(check_s / args.repeats / 180, 2)
            result[name] = fig
            print(f"== {name}")
            for key, value in fig.items():
                print(f"  {key}: {value}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    (out / "fidelity.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
