"""Population posteriors for packs, splits and corpora: fitting, InferenceData, tables, checks.

* :func:`fit_groups` — the population posterior of every pack/style/split (or the whole
  corpus): hyperparameters per group and every loop's own knobs, with a trained
  :class:`~technorhythm.inference.PopulationEstimator`.
* :class:`PopulationPredictive` / :class:`CorpusPredictive` / :class:`LoopPredictive` —
  what a fitted group predicts; :func:`predictive_models` builds the first two for the
  groups of a fit (the model the checks and generated loops use).
* :func:`check_fit` / :func:`save_checks` — posterior predictive checks of every fitted
  group (C2ST, D against its noise floor, histogram bands, the misspecification verdict).
* :func:`save_fit` / :func:`load_fit` / :func:`format_summary` — the fit folder and the
  printed table.
* Every ArviZ call lives in :mod:`technorhythm.posteriors.arviz_adapter`.
"""

from technorhythm.posteriors.arviz_adapter import (
    PosteriorFileError,
    hyper_array,
    load_inference_data,
    loops_array,
    reads_by_group,
    save_inference_data,
    select_group,
    summary_table,
    to_inference_data,
)
from technorhythm.posteriors.check_io import (
    check_fit,
    load_checks,
    predictive_models,
    save_checks,
)
from technorhythm.posteriors.checks import CheckResult, GroupCheck, PredictiveModel, check_groups
from technorhythm.posteriors.fit import (
    BY_CHOICES,
    FitResult,
    GroupFit,
    fit_groups,
    group_seed,
    model_identity,
)
from technorhythm.posteriors.predictive_models import (
    CorpusPredictive,
    LoopPredictive,
    PopulationPredictive,
)
from technorhythm.posteriors.report import format_summary, load_fit, save_fit
from technorhythm.posteriors.tables import (
    hyperprior_sd,
    identification_table,
    loop_table,
    population_table,
    posterior_correlations,
)

__all__ = [
    "BY_CHOICES",
    "CheckResult",
    "CorpusPredictive",
    "LoopPredictive",
    "PopulationPredictive",
    "FitResult",
    "GroupCheck",
    "GroupFit",
    "PredictiveModel",
    "PosteriorFileError",
    "check_fit",
    "check_groups",
    "fit_groups",
    "format_summary",
    "group_seed",
    "identification_table",
    "load_fit",
    "load_checks",
    "load_inference_data",
    "model_identity",
    "posterior_correlations",
    "hyper_array",
    "loop_table",
    "loops_array",
    "population_table",
    "predictive_models",
    "reads_by_group",
    "save_checks",
    "save_fit",
    "save_inference_data",
    "select_group",
    "summary_table",
    "to_inference_data",
    "hyperprior_sd",
]
