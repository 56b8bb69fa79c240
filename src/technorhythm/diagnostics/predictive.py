"""Posterior predictive checks of one group of real clips: how far are the generated loops?

:func:`run_predictive_check` compares three sets for one group — the real clips, clips
from the posterior predictive and clips from the prior predictive — with every measure
next to its real-vs-real noise floor:

1. composite ``D`` and its components (:func:`technorhythm.summaries.distance`), like for
   like: for several random halves (A, B) of the real set, D(A, B) is the floor, D(A, G_B)
   and D(A, P_B) compare half A with a same-sized subset of the posterior predictive G and
   the prior predictive P;
2. C2ST (:mod:`.c2st`) real vs posterior predictive, per feature family, and real vs
   prior predictive (all features);
3. the core histograms with the real set's bootstrap band (:mod:`.histograms`);
4. MGEval overlap of distance distributions (:mod:`.overlap`).

``check_predictive`` reduces the result to one flat row of headline figures. Nothing here
draws parameters or simulates: the caller passes clip sets (see
:mod:`technorhythm.posteriors.checks`, which builds them from a fit).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from technorhythm.clips import ClipBatch
from technorhythm.diagnostics.c2st import C2STResult, check_c2st, run_c2st
from technorhythm.diagnostics.histograms import HistogramCheck, check_histograms, run_histograms
from technorhythm.diagnostics.overlap import run_overlap
from technorhythm.diagnostics.resampling import group_labels, half_splits
from technorhythm.summaries import distance

__all__ = [
    "DISTANCE_COMPONENTS",
    "PredictiveCheck",
    "run_distances",
    "run_predictive_check",
    "check_predictive",
]

DISTANCE_COMPONENTS: tuple[str, ...] = ("js", "ngram", "acf", "mmd", "cooc", "D")
MIN_CLIPS_FLOOR = 4
"""Fewest real clips for a real-vs-real noise floor (two halves of at least 2 clips)."""
MIN_CLIPS_C2ST = 5
"""Fewest clips per set for a 5-fold C2ST."""


@dataclass(frozen=True)
class PredictiveCheck:
    """Everything measured for one group.

    Attributes
    ----------
    n_real : clips in the real group.
    distances : DataFrame, one row per half-split: ``split`` and, for each of
        ``floor``/``posterior``/``prior``, every component of :data:`DISTANCE_COMPONENTS`
        (columns ``<set>_<component>``). Empty for groups below :data:`MIN_CLIPS_FLOOR`.
    distances_full : components of D(real, posterior predictive) and D(real, prior
        predictive) on the whole sets (no floor; rows ``posterior``, ``prior``).
    c2st : real vs posterior predictive, by family (None below :data:`MIN_CLIPS_C2ST`).
    c2st_prior : real vs prior predictive, all features only.
    histograms : :class:`HistogramCheck` per core histogram.
    overlap : MGEval table (:func:`technorhythm.diagnostics.overlap.run_overlap`).
    notes : why a measure is missing or widened, for the report.
    """

    n_real: int
    distances: pd.DataFrame
    distances_full: pd.DataFrame
    c2st: C2STResult | None
    c2st_prior: C2STResult | None
    histograms: dict[str, HistogramCheck]
    overlap: pd.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)


MMD_MAX_CLIPS = 200
"""Clips per set in the MMD term of D (its cost grows with the square)."""


def _components(a: ClipBatch, b: ClipBatch, seed: int) -> dict[str, float]:
    report = distance(a, b, seed=seed, max_clips=MMD_MAX_CLIPS)
    row = {k: float(report.components.get(k, np.nan)) for k in DISTANCE_COMPONENTS[:-1]}
    row["D"] = float(report.total)
    return row


def run_distances(
    real: ClipBatch,
    posterior: ClipBatch,
    prior: ClipBatch,
    *,
    n_splits: int = 5,
    groups: np.ndarray | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """D components on matched halves (one row per split); see the module docstring.

    The halves keep each source file's clips together (``groups``; default the clips'
    ``source`` column); a pack below :data:`MIN_CLIPS_FLOOR` clips or of one file gets none.
    """
    if len(real) < MIN_CLIPS_FLOOR:
        return pd.DataFrame()
    groups = group_labels(real) if groups is None else np.asarray(groups)
    rng = np.random.default_rng(seed)
    rows = []
    for s, (a, b) in enumerate(half_splits(groups, n_splits, seed)):
        if min(len(a), len(b)) < 2:
            continue
        row: dict[str, float] = {"split": s}
        ra = real[a]
        sets = {
            "floor": real[b],
            "posterior": posterior[
                rng.choice(len(posterior), len(b), replace=len(posterior) < len(b))
            ],
            "prior": prior[rng.choice(len(prior), len(b), replace=len(prior) < len(b))],
        }
        for label, other in sets.items():
            for k, v in _components(ra, other, seed + s).items():
                row[f"{label}_{k}"] = v
        rows.append(row)
    return pd.DataFrame(rows)


def _full_distances(real: ClipBatch, posterior: ClipBatch, prior: ClipBatch, seed: int):
    n = len(real)
    rows = {
        "posterior": _components(real, posterior[:n], seed),
        "prior": _components(real, prior[:n], seed),
    }
    return pd.DataFrame(rows).T


def run_predictive_check(
    real: ClipBatch,
    posterior: ClipBatch,
    prior: ClipBatch,
    *,
    n_splits: int = 5,
    c2st_max_clips: int = 256,
    seed: int = 0,
) -> PredictiveCheck:
    """Compare ``real`` with its posterior and prior predictive sets (module docstring).

    ``posterior`` and ``prior`` should hold at least as many clips as ``real``; the
    histograms use all of ``posterior`` (a larger set estimates the generator better), the
    distances and the C2ST use same-sized subsets.
    """
    if len(real) == 0:
        raise ValueError("the real group is empty")
    if len(posterior) == 0 or len(prior) == 0:
        raise ValueError("the predictive sets must not be empty")
    notes = []
    distances = run_distances(real, posterior, prior, n_splits=n_splits, seed=seed)
    if distances.empty:
        notes.append(
            f"no noise floor: fewer than {MIN_CLIPS_FLOOR} real clips, or all from one file"
        )
    c2st = c2st_prior = None
    if len(real) >= MIN_CLIPS_C2ST:
        c2st = run_c2st(real, posterior, max_clips=c2st_max_clips, seed=seed)
        c2st_prior = run_c2st(
            real, prior, families=("all",), classifiers=("gb",), max_clips=c2st_max_clips, seed=seed
        )
        notes.extend(c2st.notes)
    else:
        notes.append(f"no C2ST: fewer than {MIN_CLIPS_C2ST} real clips")
    histograms = {}
    if len(real) >= 2:
        histograms = run_histograms(real, posterior, n_splits=n_splits, seed=seed)
    overlap = run_overlap(real, posterior, seed=seed) if len(real) >= 2 else pd.DataFrame()
    return PredictiveCheck(
        n_real=len(real),
        distances=distances,
        distances_full=_full_distances(real, posterior, prior, seed),
        c2st=c2st,
        c2st_prior=c2st_prior,
        histograms=histograms,
        overlap=overlap,
        notes=tuple(notes),
    )


def check_predictive(check: PredictiveCheck) -> dict[str, object]:
    """Headline figures of one group as a flat dict (one row of ``check.csv``).

    ``d_floor``, ``d_posterior``, ``d_prior``: mean D over the half-splits;
    ``d_ratio`` = d_posterior / d_floor; ``closer_than_prior``: d_posterior < d_prior;
    ``c2st``, ``c2st_p``, ``c2st_giveaway``, ``c2st_<family>``, ``c2st_prior``;
    ``<histogram>_in_band`` / ``_rel_error`` / ``_rel_error_floor``;
    ``overlap_<feature>_oa`` / ``_oa_floor``.
    """
    row: dict[str, object] = {"n_real": check.n_real}
    d = check.distances
    if not d.empty:
        for label in ("floor", "posterior", "prior"):
            row[f"d_{label}"] = float(d[f"{label}_D"].mean())
            row[f"d_{label}_sd"] = float(d[f"{label}_D"].std(ddof=1)) if len(d) > 1 else np.nan
        row["d_ratio"] = row["d_posterior"] / row["d_floor"] if row["d_floor"] > 0 else np.inf
        row["closer_than_prior"] = bool(row["d_posterior"] < row["d_prior"])
    full = check.distances_full
    row["d_full_posterior"] = float(full.loc["posterior", "D"])
    row["d_full_prior"] = float(full.loc["prior", "D"])
    if check.c2st is not None:
        head = check_c2st(check.c2st)
        row["c2st"] = head["accuracy"]
        row["c2st_p"] = head["p_value"]
        row["c2st_giveaway"] = head["giveaway"]
        for family, acc in head["by_family"].items():
            if family != "all":
                row[f"c2st_{family}"] = acc
        row["c2st_prior"] = check_c2st(check.c2st_prior)["accuracy"]
    row.update(check_histograms(check.histograms))
    for rec in check.overlap.to_dict("records"):
        row[f"overlap_{rec['feature']}_oa"] = rec["oa"]
        row[f"overlap_{rec['feature']}_oa_floor"] = rec["oa_floor"]
    return row
