"""Posteriors for packs, splits and corpora: fitting groups, InferenceData and summary tables.

* :func:`fit_groups` — posterior of every pack/style/split (or the whole corpus) with a
  trained estimator, plus a posterior-predictive misspecification check per group.
* :func:`save_fit` / :func:`load_fit` / :func:`format_summary` — the fit folder and the
  printed table.
* Every ArviZ call lives in :mod:`technorhythm.posteriors.arviz_adapter`.
"""

from technorhythm.posteriors.arviz_adapter import (
    PosteriorFileError,
    identification_table,
    load_inference_data,
    posterior_correlations,
    samples_array,
    save_inference_data,
    select_group,
    summary_table,
    to_inference_data,
    uniform_prior_sd,
)
from technorhythm.posteriors.fit import BY_CHOICES, FitResult, GroupFit, fit_groups, model_identity
from technorhythm.posteriors.misspecification import Misspecification, mmd_misspecification
from technorhythm.posteriors.report import format_summary, load_fit, save_fit

__all__ = [
    "BY_CHOICES",
    "FitResult",
    "GroupFit",
    "Misspecification",
    "PosteriorFileError",
    "fit_groups",
    "format_summary",
    "identification_table",
    "load_fit",
    "load_inference_data",
    "mmd_misspecification",
    "model_identity",
    "posterior_correlations",
    "samples_array",
    "save_fit",
    "save_inference_data",
    "select_group",
    "summary_table",
    "to_inference_data",
    "uniform_prior_sd",
]
