"""Checking a fit folder or a fit in memory, and the check folder it writes.

Output folder of ``technorhythm check FIT_DIR --out DIR`` (``check.json`` is written last;
a folder with it is complete):

``check.csv``                     one row of headline figures per group
``splits.csv``                    the same reduced per train/valid/test split (when split)
``overview.png``                  C2ST accuracy and D / floor of every group
``groups/NNN_<name>/check.json``  every measure of one group (tables, bins, verdict)
``groups/NNN_<name>/check.csv``   the core histograms bin by bin, with the real band
``groups/NNN_<name>/*.png``       onset profiles with bands, velocity/timing/bar-repeat
                                  overlays, C2ST by feature family
``check.json``                    options, timings, the split table and each group's
                                  headline row
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from technorhythm.atomic import atomic_write_text
from technorhythm.clips import ClipBatch
from technorhythm.posteriors.checks import (
    CheckResult,
    GroupCheck,
    check_groups,
    split_table,
)
from technorhythm.posteriors.fit import FitResult, group_clips
from technorhythm.posteriors.predictive_models import CorpusPredictive, PopulationPredictive

__all__ = [
    "CHECK_SCHEMA",
    "check_fit",
    "format_checks",
    "load_checks",
    "predictive_models",
    "save_checks",
]

CHECK_SCHEMA = "technorhythm.check"
CHECK_SCHEMA_VERSION = 1


def _slug(name: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:60] or "group"


def _members_from_ids(
    batch: ClipBatch, ids_by_group: dict[str, list[str]]
) -> dict[str, np.ndarray]:
    if "clip_id" not in batch.meta:
        raise ValueError("the dataset's clips have no clip_id column; cannot match the fit")
    index = pd.Index(batch.meta["clip_id"].astype(str))
    out = {}
    for name, ids in ids_by_group.items():
        rows = index.get_indexer(ids)
        if (rows < 0).any():
            missing = ids[int(np.flatnonzero(rows < 0)[0])]
            raise ValueError(
                f"clip {missing!r} of group {name!r} is not in the dataset: the dataset changed "
                "since the fit; fit it again"
            )
        out[name] = rows
    return out


def _fit_from_folder(
    fit_dir: Path,
) -> tuple[dict[str, Any], list[str], list[str], np.ndarray, dict, dict]:
    from technorhythm.posteriors.arviz_adapter import hyper_array, reads_by_group
    from technorhythm.posteriors.report import load_fit

    record, idata, _ = load_fit(fit_dir)
    names, knobs, hyper = hyper_array(idata)
    reads = reads_by_group(idata)
    members_path = fit_dir / "members.parquet"
    if not members_path.is_file():
        raise FileNotFoundError(f"{members_path} is missing: fit the dataset again to check it")
    members = pd.read_parquet(members_path)
    ids = {n: members.loc[members["group"] == n, "clip_id"].astype(str).tolist() for n in names}
    return record, names, knobs, hyper, ids, reads


def predictive_models(
    names: list[str],
    hyper: list[np.ndarray],
    knob_names: list[str],
    sizes: list[int],
    *,
    corpus: bool,
    reads: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> list[PopulationPredictive | CorpusPredictive]:
    """The predictive model of every group: its population, with the knobs read from its
    loops taken from ``reads`` (group → (values, standard errors), each (B, K), NaN where
    not read; a group without reads draws every knob from its population); with
    ``corpus``, the last group (``"all"``) as packs within the corpus
    (:class:`CorpusPredictive`)."""
    from technorhythm.inference.population import Population
    from technorhythm.simulator.knobs import get_knob

    bounds = np.array([[get_knob(n).low, get_knob(n).high] for n in knob_names])
    population = Population(bounds, tuple(knob_names))
    reads = reads or {}
    models: list[PopulationPredictive | CorpusPredictive] = [
        PopulationPredictive(np.asarray(h), population, *reads.get(name, (None, None)))
        for name, h in zip(names, hyper, strict=True)
    ]
    if corpus and len(names) > 1 and names[-1] == "all":
        models[-1] = CorpusPredictive(models[:-1], sizes[:-1])
    return models


def check_fit(
    fit: FitResult | str | os.PathLike[str],
    data=None,
    *,
    seed: int | None = None,
    n_predictive: int = 256,
    n_verdict_sets: int = 100,
    alpha: float = 0.05,
    progress: bool = False,
    verdict_only: bool = False,
    calibration=None,
    adjust=None,
) -> CheckResult:
    """Posterior predictive checks of every group of a fit.

    Parameters
    ----------
    fit : FitResult or fit folder
        The fit to check. A folder also names its dataset (``fit.json``).
    data : Dataset, dataset folder or ClipBatch, optional
        The clips the fit was made from; defaults to the dataset recorded in the fit folder.
    seed : int, optional
        Master seed of the checks; defaults to the fit's own seed.
    n_predictive, n_verdict_sets, alpha, verdict_only
        See :func:`technorhythm.posteriors.checks.check_group`.
    calibration : VerdictCalibration, optional
        Calibration of the verdict for the model that made the fit; defaults to the one
        the fit recorded from its model (``model["verdict_calibration"]``), if any.
    adjust : callable, optional
        ``adjust(name, real, model) -> model``, applied to every group's predictive model
        before the checks: *what-if* checks of a changed predictive (e.g. every loop at the
        pack's own velocity levels; ``benchmarks/predictive_whatif.py``). None checks the
        fit as it is.
    """
    from technorhythm.diagnostics.verdict import VerdictCalibration
    from technorhythm.posteriors.fit import _as_batch

    if isinstance(fit, FitResult):
        names = fit.group_names()
        hyper = [g.hyper for g in fit.groups]
        knobs = list(fit.knob_names)
        ids = {g.name: list(g.clip_ids) for g in fit.groups}
        reads = {g.name: (g.reads, g.read_se) for g in fit.groups if g.reads is not None}
        fit_seed = int(fit.options["seed"])
        options = {"by": fit.by, "split": fit.split, **fit.options}
        model = fit.model
        dataset = None
    else:
        record, names, knobs, stacked, ids, reads = _fit_from_folder(Path(fit))
        hyper = list(stacked)
        fit_seed = int(record["options"]["seed"])
        options = {"by": record["by"], "split": record["split"], **record["options"]}
        model = record.get("model") or {}
        dataset = record.get("dataset")
    if calibration is None and model.get("verdict_calibration"):
        calibration = VerdictCalibration.from_dict(model["verdict_calibration"])
    if data is None:
        if not dataset:
            raise ValueError("pass the clips the fit was made from (data=...)")
        data = dataset
    batch = _as_batch(data)
    if all(ids.values()):
        members = _members_from_ids(batch, ids)
    else:  # an in-memory fit of clips without ids: group again exactly as the fit did
        grouping = group_clips(
            batch,
            by=options["by"],
            split=options["split"],
            min_clips=int(options.get("min_clips", 1)),
            add_all=bool(options.get("add_all", False)),
        )
        members = dict(zip(grouping.names, grouping.members, strict=True))
    sizes = [len(members[name]) for name in names]
    corpus = bool(options.get("add_all")) and options["by"] != "all"
    models = predictive_models(names, hyper, knobs, sizes, corpus=corpus, reads=reads)
    groups = [
        (name, batch[members[name]], model) for name, model in zip(names, models, strict=True)
    ]
    if adjust is not None:
        groups = [(name, real, adjust(name, real, model)) for name, real, model in groups]
    return check_groups(
        groups,
        seed=fit_seed if seed is None else int(seed),
        n_predictive=n_predictive,
        n_verdict_sets=n_verdict_sets,
        alpha=alpha,
        progress=progress,
        verdict_only=verdict_only,
        calibration=calibration,
    )


def _clean(value: Any) -> Any:
    """JSON-safe values: NaN/inf → None, numpy scalars → Python."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    return [] if frame is None or frame.empty else _clean(frame.to_dict("records"))


def _group_detail(g: GroupCheck) -> dict[str, Any]:
    detail: dict[str, Any] = {"row": g.row}
    c = g.check
    if c is not None:
        detail.update(_measures(c))
    if g.verdict is not None:
        detail["verdict"] = {
            "p_value": g.verdict.p_value,
            "flagged": g.verdict.flagged,
            "alpha": g.verdict.alpha,
            "aspects": _records(g.verdict.aspects),
            "summaries": _records(g.verdict.summaries),
        }
    return _clean(detail)


def _measures(c) -> dict[str, Any]:
    return {
        "notes": list(c.notes),
        "distances": _records(c.distances),
        "distances_full": _records(c.distances_full.reset_index(names="set")),
        "c2st": _records(c.c2st.table) if c.c2st is not None else [],
        "c2st_prior": _records(c.c2st_prior.table) if c.c2st_prior is not None else [],
        "histograms": {
            name: {
                "in_band": h.in_band,
                "rel_error": h.rel_error,
                "rel_error_floor": h.rel_error_floor,
                "rel_error_by_instrument": h.rel_error_by_instrument,
            }
            for name, h in c.histograms.items()
        },
        "overlap": _records(c.overlap),
    }


def _write_group(g: GroupCheck, folder: Path, plots: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "check.json", json.dumps(_group_detail(g), indent=1) + "\n")
    if g.check is None or not g.check.histograms:
        return
    bins = pd.concat([h.frame() for h in g.check.histograms.values()], ignore_index=True)
    atomic_write_text(folder / "check.csv", bins.to_csv(index=False, float_format="%.6g"))
    if plots:
        from technorhythm.diagnostics import plots_checks as dplots

        dplots.plot_onset_profiles(g.check.histograms["onset"], folder / "onsets.png", title=g.name)
        dplots.plot_distributions(g.check.histograms, folder / "distributions.png", title=g.name)
        if g.check.c2st is not None:
            dplots.plot_c2st_families(g.check.c2st, folder / "c2st.png", title=g.name)


def save_checks(
    result: CheckResult, out_dir: str | os.PathLike[str], *, plots: bool = True
) -> dict[str, Any]:
    """Write the check folder (module docstring); returns the ``check.json`` record."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    (out / "check.json").unlink(missing_ok=True)  # the folder is incomplete until rewritten
    table = result.table()
    splits = split_table(table)
    folders = {}
    for i, g in enumerate(result.groups):
        rel = f"groups/{i:03d}_{_slug(g.name)}"
        _write_group(g, out / rel, plots)
        folders[g.name] = rel
    atomic_write_text(out / "check.csv", table.to_csv(index=False, float_format="%.6g"))
    if not splits.empty:
        atomic_write_text(out / "splits.csv", splits.to_csv(index=False, float_format="%.6g"))
    if plots:
        from technorhythm.diagnostics.plots_checks import plot_check_overview

        plot_check_overview(table, out / "overview.png")
    record = _clean(
        {
            "schema": CHECK_SCHEMA,
            "schema_version": CHECK_SCHEMA_VERSION,
            "options": result.options,
            "timing_s": result.timing,
            "splits": _records(splits),
            "groups": {g.name: g.row for g in result.groups},
            "group_folders": folders,
        }
    )
    atomic_write_text(out / "check.json", json.dumps(record, indent=1) + "\n")
    return record


def load_checks(out_dir: str | os.PathLike[str]) -> tuple[dict[str, Any], pd.DataFrame]:
    """Read a check folder back: (``check.json`` record, ``check.csv`` table)."""
    out = Path(out_dir)
    path = out / "check.json"
    if not path.is_file():
        raise FileNotFoundError(f"{out} is not a complete check folder (no check.json)")
    record = json.loads(path.read_text(encoding="utf-8"))
    if record.get("schema") != CHECK_SCHEMA or record.get("schema_version") != CHECK_SCHEMA_VERSION:
        raise ValueError(
            f"{path} is not a technorhythm check of schema version {CHECK_SCHEMA_VERSION}"
        )
    return record, pd.read_csv(out / "check.csv", keep_default_na=False, na_values=[""])


_COLUMNS = (
    ("group", "group", "{}"),
    ("n_real", "N", "{:d}"),
    ("c2st", "C2ST", "{:.2f}"),
    ("c2st_giveaway", "tell", "{}"),
    ("d_floor", "D floor", "{:.2f}"),
    ("d_posterior", "D post", "{:.2f}"),
    ("d_prior", "D prior", "{:.2f}"),
    ("d_ratio", "post/floor", "{:.1f}"),
    ("onset_in_band", "onsets in band", "{:.0%}"),
    ("verdict_p", "verdict p", "{:.3f}"),
)


def _cell(value: Any, fmt: str) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    try:
        return fmt.format(value)
    except (TypeError, ValueError):
        return str(value)


def format_checks(table: pd.DataFrame) -> str:
    """A short text table of the headline figures (one line per group)."""
    cols = [(c, h, f) for c, h, f in _COLUMNS if c in table]
    heads = [h for _, h, _ in cols]
    cells = [[_cell(rec.get(c), f) for c, _, f in cols] for rec in table.to_dict("records")]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(heads)]

    def line(values: list[str]) -> str:
        return "  ".join(
            v.ljust(w) if i == 0 else v.rjust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        )

    return "\n".join([line(heads), *(line(r) for r in cells)])
