"""Everything a report is made from, read once: the fit folder, its checks and its model.

:func:`load_inputs` reads a fit folder (``fit.json``, ``posterior.nc``), the posterior
predictive checks in ``FIT_DIR/check`` (running and saving them when absent, if asked),
and the model the fit used, with the model's validation record. Missing or unreadable
parts do not stop the report: each is recorded with the reason, and the section that
needs it says so.

The report speaks about each knob through the loops' *mean value* E[θ] of a group (the
population's mean, inside the knob range; what ``population.csv`` reports), derived from
every hyperparameter draw.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from technorhythm.inference.population import Population
from technorhythm.posteriors.arviz_adapter import group_draws_to_inference_data, hyper_array
from technorhythm.posteriors.check_io import load_checks
from technorhythm.posteriors.fit import model_identity
from technorhythm.posteriors.report import load_fit
from technorhythm.report.validation_record import (
    ValidationRecord,
    ValidationRecordError,
    load_validation_record,
)
from technorhythm.simulator.knobs import get_knob

__all__ = ["ChecksInfo", "ModelInfo", "ReportInputs", "load_inputs", "find_model"]

CHECK_FOLDER = "check"


@dataclass(frozen=True)
class ModelInfo:
    """The model a fit used, as far as it can be found.

    ``directory`` is None when the model folder is unknown; ``how`` says how it was found;
    ``matches_fit`` whether its identity hash equals the one recorded in the fit (None when
    there is no folder); ``validation`` its validation record (None without one) and
    ``validation_error`` why a record could not be read.
    """

    directory: Path | None
    how: str
    manifest: dict[str, Any] | None = None
    model_hash: str = ""
    matches_fit: bool | None = None
    validation: ValidationRecord | None = None
    validation_error: str = ""


@dataclass(frozen=True)
class ChecksInfo:
    """The fit's posterior predictive checks: the folder, ``check.json``, ``check.csv``.

    ``ran_now`` is True when the report ran them; ``note`` explains missing checks.
    """

    directory: Path | None
    record: dict[str, Any] | None = None
    table: pd.DataFrame | None = None
    ran_now: bool = False
    note: str = ""

    def group_folder(self, group: str) -> Path | None:
        """The folder of one group's check (figures, ``check.json``), or None."""
        if self.directory is None or self.record is None:
            return None
        rel = self.record.get("group_folders", {}).get(group)
        return None if rel is None else self.directory / rel

    def group_detail(self, group: str) -> dict[str, Any] | None:
        """One group's ``check.json`` (every measure and the verdict), or None."""
        folder = self.group_folder(group)
        if folder is None or not (folder / "check.json").is_file():
            return None
        return json.loads((folder / "check.json").read_text(encoding="utf-8"))

    def row(self, group: str) -> dict[str, Any] | None:
        """One group's headline row of ``check.csv``, or None."""
        if self.table is None:
            return None
        rows = self.table[self.table["group"].astype(str) == group]
        return None if rows.empty else rows.iloc[0].to_dict()


@dataclass(frozen=True)
class ReportInputs:
    """What the sections read (see :func:`load_inputs`).

    ``means`` holds the loops' mean value of every knob per group as InferenceData
    (variables named after the knobs, dims (chain, draw, group)); ``mean_draws`` the same
    as an array (G, draws, K); ``mean_prior_sd`` the sd of each knob's mean value under
    the uniform hyperprior (knob units).
    """

    fit_dir: Path
    record: dict[str, Any]
    idata: Any
    means: Any
    mean_draws: np.ndarray
    mean_prior_sd: np.ndarray
    groups: list[str]
    knobs: list[str]
    n_clips: dict[str, int]
    checks: ChecksInfo
    model: ModelInfo
    notes: list[str] = field(default_factory=list)

    @property
    def bounds(self) -> np.ndarray:
        """Knob ranges (K, 2), knob units."""
        return knob_bounds(self.knobs)


def knob_bounds(knobs: list[str]) -> np.ndarray:
    return np.array([[get_knob(k).low, get_knob(k).high] for k in knobs], dtype=np.float64)


def mean_prior_sd(population: Population, *, n: int = 20000, seed: int = 0) -> np.ndarray:
    """Sd of each knob's population mean E[θ] under the uniform hyperprior (Monte Carlo)."""
    psi = population.sample_hyper(n, np.random.default_rng(seed))
    return population.mean(psi).std(axis=0, ddof=1)


def _read_manifest(directory: Path) -> dict[str, Any] | None:
    path = directory / "manifest.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _identity(manifest: dict[str, Any]) -> str:
    return str(model_identity(SimpleNamespace(manifest_=manifest))["model_hash"])


def find_model(
    record: dict[str, Any], model_dir: str | os.PathLike[str] | None = None
) -> ModelInfo:
    """The model folder of a fit: ``model_dir`` when given, else the shipped model if its
    identity matches the fit's ``model_hash``; with its validation record."""
    from technorhythm.inference.packaged import SHIPPED_DIR

    fit_hash = str((record.get("model") or {}).get("model_hash", ""))
    if model_dir is not None:
        directory, how = Path(model_dir), "given (--model)"
        manifest = _read_manifest(directory)
        if manifest is None:
            return ModelInfo(None, f"{directory} is not a model folder (no readable manifest.json)")
    else:
        directory, how = SHIPPED_DIR, "the model shipped with technorhythm"
        manifest = _read_manifest(directory)
        if manifest is None or _identity(manifest) != fit_hash:
            return ModelInfo(
                None,
                "unknown: the fit's model is not the shipped one and no model folder was "
                "given (--model)",
                model_hash=fit_hash,
            )
    model_hash = _identity(manifest)
    validation, error = None, ""
    try:
        validation = load_validation_record(directory)
    except ValidationRecordError as exc:
        error = str(exc)
    return ModelInfo(
        directory=directory,
        how=how,
        manifest=manifest,
        model_hash=model_hash,
        matches_fit=model_hash == fit_hash,
        validation=validation,
        validation_error=error,
    )


def _load_or_run_checks(fit_dir: Path, run_checks: bool, dataset, progress: bool) -> ChecksInfo:
    folder = fit_dir / CHECK_FOLDER
    if (folder / "check.json").is_file():
        try:
            record, table = load_checks(folder)
            return ChecksInfo(folder, record, table)
        except (ValueError, OSError) as exc:
            reason = f"the check folder {folder} could not be read ({exc})"
            if not run_checks:
                return ChecksInfo(None, note=reason)
    elif not run_checks:
        return ChecksInfo(None, note=f"the fit has no posterior predictive checks ({folder})")
    from technorhythm.posteriors import check_fit, save_checks
    from technorhythm.threads import limit_threads

    try:
        with limit_threads(1):
            result = check_fit(fit_dir, dataset, progress=progress)
        save_checks(result, folder)
        record, table = load_checks(folder)
    except (ValueError, FileNotFoundError, OSError) as exc:
        return ChecksInfo(None, note=f"the checks could not be run: {exc}")
    return ChecksInfo(folder, record, table, ran_now=True)


def load_inputs(
    fit_dir: str | os.PathLike[str],
    *,
    model_dir: str | os.PathLike[str] | None = None,
    run_checks: bool = True,
    dataset=None,
    progress: bool = False,
) -> ReportInputs:
    """Read a fit folder and everything around it (module docstring).

    Parameters
    ----------
    fit_dir : a folder written by ``technorhythm fit``.
    model_dir : the model folder the fit used (default: the shipped model, when it is
        the one the fit records).
    run_checks : run the posterior predictive checks (and save them in ``FIT_DIR/check``)
        when the fit has none.
    dataset : the clips the fit was made from, for running the checks (default: the
        dataset recorded in ``fit.json``).
    """
    fit_dir = Path(fit_dir)
    record, idata, _ = load_fit(fit_dir)
    groups, knobs, hyper = hyper_array(idata)
    population = Population(knob_bounds(knobs), tuple(knobs))
    means = population.mean(hyper)  # (G, S, K)
    means_idata = group_draws_to_inference_data(
        {k: means[..., j] for j, k in enumerate(knobs)},
        groups,
        units={k: get_knob(k).unit for k in knobs},
    )
    n_clips = dict(zip(groups, idata.constant_data["n_clips"].values.tolist(), strict=True))
    return ReportInputs(
        fit_dir=fit_dir,
        record=record,
        idata=idata,
        means=means_idata,
        mean_draws=means,
        mean_prior_sd=mean_prior_sd(population),
        groups=groups,
        knobs=knobs,
        n_clips={g: int(n) for g, n in n_clips.items()},
        checks=_load_or_run_checks(fit_dir, run_checks, dataset, progress),
        model=find_model(record, model_dir),
    )
