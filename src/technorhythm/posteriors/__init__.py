"""Posteriors for packs, splits and corpora: fitting groups, InferenceData and summary tables.

* :func:`fit_groups` — posterior of every pack/style/split (or the whole corpus) with a
  trained estimator.
* :func:`check_fit` / :func:`save_checks` — posterior predictive checks of every fitted
  group (C2ST, D against its noise floor, histogram bands, the misspecification verdict).
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
from technorhythm.posteriors.check_io import check_fit, load_checks, save_checks
from technorhythm.posteriors.checks import CheckResult, GroupCheck, PredictiveModel, check_groups
from technorhythm.posteriors.fit import BY_CHOICES, FitResult, GroupFit, fit_groups, model_identity
from technorhythm.posteriors.report import format_summary, load_fit, save_fit

__all__ = [
    "BY_CHOICES",
    "CheckResult",
    "FitResult",
    "GroupCheck",
    "GroupFit",
    "PredictiveModel",
    "PosteriorFileError",
    "check_fit",
    "check_groups",
    "fit_groups",
    "format_summary",
    "identification_table",
    "load_fit",
    "load_checks",
    "load_inference_data",
    "model_identity",
    "posterior_correlations",
    "samples_array",
    "save_checks",
    "save_fit",
    "save_inference_data",
    "select_group",
    "summary_table",
    "to_inference_data",
    "uniform_prior_sd",
]
