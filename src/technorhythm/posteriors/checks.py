"""Posterior predictive checks of a fit: do loops generated from it measure like the pack?

For every fitted group this module builds the three sets the checks compare and hands
them to :mod:`technorhythm.diagnostics.predictive` and
:mod:`technorhythm.diagnostics.verdict`:

* the real clips of the group;
* the **posterior predictive**: knob settings for sets of loops drawn from the group's
  predictive model — anything with ``draw(n_sets, n_clips, rng)``: the population model's
  :class:`~technorhythm.posteriors.predictive_models.PopulationPredictive` /
  :class:`~technorhythm.posteriors.predictive_models.CorpusPredictive` for fits, or the
  one-θ :class:`PredictiveModel` — one clip simulated per setting, with tempos drawn
  from the group's own tempos;
* the **prior predictive**: the same with θ from the uniform knob prior.

It also simulates ``n_verdict_sets`` predictive *sets* of the group's size for the
misspecification verdict. Every random draw derives from ``(seed, group name)``, so a
group's check does not depend on which other groups are checked with it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from technorhythm.clips import ClipBatch
from technorhythm.diagnostics.predictive import (
    PredictiveCheck,
    check_predictive,
    run_predictive_check,
)
from technorhythm.diagnostics.verdict import Verdict, VerdictCalibration, run_verdict
from technorhythm.posteriors.fit import group_seed

__all__ = [
    "PredictiveModel",
    "GroupCheck",
    "CheckResult",
    "simulate_predictive",
    "check_group",
    "check_groups",
    "group_verdict",
    "split_table",
]


@dataclass(frozen=True)
class PredictiveModel:
    """The one-θ predictive: every loop of a set shares one knob vector.

    ``samples`` (S, K) are draws of one θ per set: a predictive set of ``n`` clips takes one
    draw for all its clips. Fits use the population model's predictives
    (:mod:`technorhythm.posteriors.predictive_models`); this one serves sets known to come
    from one θ (a preset, a test oracle).
    """

    samples: np.ndarray

    def draw(self, n_sets: int, n_clips: int, rng: np.random.Generator) -> np.ndarray:
        """θ for ``n_sets`` sets of ``n_clips`` clips, shape (n_sets · n_clips, K), set-major."""
        rows = rng.integers(0, len(self.samples), size=n_sets)
        return np.repeat(self.samples[rows], n_clips, axis=0)


def _simulate(theta: np.ndarray, bpm: np.ndarray, seed: int) -> ClipBatch:
    from technorhythm.simulator import simulate

    return simulate(theta, seed=seed, bpm=bpm)


def simulate_predictive(
    real: ClipBatch,
    model: PredictiveModel,
    *,
    n_clips: int,
    seed: int,
    name: str,
) -> tuple[ClipBatch, ClipBatch]:
    """Posterior and prior predictive clips for one group (``n_clips`` each).

    The posterior predictive simulates sets of the group's size (so a population model's
    loops come from shared hyperparameters) and keeps the first ``n_clips`` clips; tempos
    are resampled from the group's own.
    """
    from technorhythm.inference.prior import sample_prior

    rng = np.random.default_rng(group_seed(seed, name, 10))
    n_real = len(real)
    per_set = max(1, min(n_real, n_clips))
    n_sets = math.ceil(n_clips / per_set)
    theta = model.draw(n_sets, per_set, rng)[:n_clips]
    bpm = rng.choice(real.bpm, size=n_clips, replace=True)
    posterior = _simulate(theta, bpm, group_seed(seed, name, 11))
    prior_theta = sample_prior(n_clips, rng)
    prior = _simulate(prior_theta, rng.choice(real.bpm, size=n_clips), group_seed(seed, name, 12))
    return posterior, prior


def _verdict_sets(
    real: ClipBatch, model: PredictiveModel, *, n_sets: int, max_clips: int, seed: int, name: str
) -> tuple[np.ndarray, int]:
    """Summary vectors (n_sets, S) of predictive sets of min(N, max_clips) clips."""
    from technorhythm.summaries import summarize_sets

    rng = np.random.default_rng(group_seed(seed, name, 20))
    m = int(min(len(real), max_clips))
    theta = model.draw(n_sets, m, rng)
    bpm = rng.choice(real.bpm, size=len(theta), replace=True)
    clips = _simulate(theta, bpm, group_seed(seed, name, 21))
    groups = np.repeat(np.arange(n_sets), m)
    return summarize_sets(clips, groups, n_sets=n_sets).astype(np.float64), m


def group_verdict(
    name: str,
    real: ClipBatch,
    model: PredictiveModel,
    *,
    seed: int = 0,
    n_sets: int = 100,
    max_clips: int = 1024,
    alpha: float = 0.05,
    calibration: VerdictCalibration | None = None,
) -> Verdict:
    """The misspecification verdict of one group: its summaries against ``n_sets``
    predictive sets of ``min(N, max_clips)`` clips (:func:`run_verdict`), calibrated by
    ``calibration`` when given."""
    from technorhythm.summaries import SUMMARY_NAMES, summarize

    x_pred, m = _verdict_sets(
        real, model, n_sets=int(n_sets), max_clips=max_clips, seed=seed, name=name
    )
    return run_verdict(
        summarize(real).astype(np.float64),
        x_pred,
        summary_names=SUMMARY_NAMES,
        alpha=alpha,
        n_clips=m,
        calibration=calibration,
        n_real=len(real),
    )


@dataclass(frozen=True)
class GroupCheck:
    """The checks of one group: measures (None when only the verdict ran), verdict and the
    flat headline row."""

    name: str
    split: str | None
    check: PredictiveCheck | None
    verdict: Verdict | None
    row: dict[str, object]


@dataclass(frozen=True)
class CheckResult:
    """Checks of every group of a fit, with timings (seconds per group and in all)."""

    groups: tuple[GroupCheck, ...]
    options: dict[str, object]
    timing: dict[str, float]

    def table(self) -> pd.DataFrame:
        """One row per group: the headline figures (``check.csv``)."""
        return pd.DataFrame([g.row for g in self.groups])


def _split_of(real: ClipBatch) -> str | None:
    if "split" not in real.meta:
        return None
    values = real.meta["split"].dropna().unique()
    if len(values) == 0:
        return None
    return str(values[0]) if len(values) == 1 else "mixed"


def check_group(
    name: str,
    real: ClipBatch,
    model: PredictiveModel,
    *,
    seed: int = 0,
    n_predictive: int = 256,
    n_verdict_sets: int = 100,
    verdict_max_clips: int = 1024,
    alpha: float = 0.05,
    n_splits: int = 5,
    verdict_only: bool = False,
    calibration: VerdictCalibration | None = None,
) -> GroupCheck:
    """Every check of one group (see the module docstring).

    ``n_predictive``: clips in the predictive sets at least (the real group's size if larger).
    ``n_verdict_sets``: predictive sets for the verdict (0 switches it off).
    ``verdict_only``: skip the measures (C2ST, D, histograms, overlap).
    ``calibration``: the model's :class:`VerdictCalibration` (None: raw, conservative p).
    """
    t0 = time.perf_counter()
    check = None
    if not verdict_only:
        n_pred = max(len(real), int(n_predictive))
        posterior, prior = simulate_predictive(real, model, n_clips=n_pred, seed=seed, name=name)
        check = run_predictive_check(
            real, posterior, prior, n_splits=n_splits, seed=group_seed(seed, name, 30)
        )
    verdict = None
    if n_verdict_sets:
        verdict = group_verdict(
            name,
            real,
            model,
            seed=seed,
            n_sets=n_verdict_sets,
            max_clips=verdict_max_clips,
            alpha=alpha,
            calibration=calibration,
        )
    split = _split_of(real)
    row: dict[str, object] = {"group": name, "split": split or "", "n_real": len(real)}
    if check is not None:
        row.update(check_predictive(check))
    if verdict is not None:
        row.update(verdict.as_row())
    row["seconds"] = time.perf_counter() - t0
    return GroupCheck(name=name, split=split, check=check, verdict=verdict, row=row)


def check_groups(
    groups: Sequence[tuple[str, ClipBatch, PredictiveModel]],
    *,
    seed: int = 0,
    n_predictive: int = 256,
    n_verdict_sets: int = 100,
    verdict_max_clips: int = 1024,
    alpha: float = 0.05,
    progress: bool = False,
    verdict_only: bool = False,
    calibration: VerdictCalibration | None = None,
) -> CheckResult:
    """:func:`check_group` for each ``(name, real clips, predictive model)``."""
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    out = []
    for name, real, model in tqdm(groups, desc="checking", unit="group", disable=not progress):
        out.append(
            check_group(
                name,
                real,
                model,
                seed=seed,
                n_predictive=n_predictive,
                n_verdict_sets=n_verdict_sets,
                verdict_max_clips=verdict_max_clips,
                alpha=alpha,
                verdict_only=verdict_only,
                calibration=calibration,
            )
        )
    options = {
        "seed": int(seed),
        "n_predictive": int(n_predictive),
        "n_verdict_sets": int(n_verdict_sets),
        "verdict_max_clips": int(verdict_max_clips),
        "alpha": float(alpha),
        "verdict_only": bool(verdict_only),
        "verdict_calibrated": calibration is not None,
    }
    return CheckResult(tuple(out), options, {"total_s": time.perf_counter() - t0})


def split_table(table: pd.DataFrame) -> pd.DataFrame:
    """Headline figures per split (median over its groups): the held-out view.

    Columns: ``split``, ``groups``, ``c2st`` (median), ``d_ratio`` (median),
    ``closer_than_prior`` (share), ``onset_in_band`` (median), ``flagged`` (share).
    """
    if "split" not in table or (table["split"] == "").all():
        return pd.DataFrame()
    rows = []
    for split, part in table[table["split"] != ""].groupby("split", sort=True):
        row: dict[str, object] = {"split": split, "groups": len(part)}
        for col, how in (
            ("c2st", "median"),
            ("d_ratio", "median"),
            ("closer_than_prior", "mean"),
            ("onset_in_band", "median"),
            ("flagged", "mean"),
        ):
            if col in part:
                row[col] = float(getattr(part[col].astype(float), how)())
        rows.append(row)
    return pd.DataFrame(rows)
