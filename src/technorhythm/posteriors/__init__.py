"""Posteriors for packs, splits and corpora: fitting groups, InferenceData and summary tables.

Every ArviZ call lives in :mod:`technorhythm.posteriors.arviz_adapter`.
"""

from technorhythm.posteriors.arviz_adapter import (
    PosteriorFileError,
    identification_table,
    load_inference_data,
    plot_forest,
    posterior_correlations,
    samples_array,
    save_inference_data,
    select_group,
    summary_table,
    to_inference_data,
    uniform_prior_sd,
)

__all__ = [
    "PosteriorFileError",
    "identification_table",
    "load_inference_data",
    "plot_forest",
    "posterior_correlations",
    "samples_array",
    "save_inference_data",
    "select_group",
    "summary_table",
    "to_inference_data",
    "uniform_prior_sd",
]
