"""Section: which knobs the data of a group pins down.

Per knob, for the loops' mean value E[θ] of the group: the posterior mean and HDI, the
sd ratio (posterior sd / sd under the uniform hyperprior) and the contraction
``1 − posterior var / prior var`` (0: nothing learnt, 1: pinned down). A knob is

* **identified** when its contraction is at least :data:`IDENTIFIED_AT` (the posterior sd
  is under a third of the prior's),
* **prior-dominated** below :data:`PRIOR_DOMINATED_BELOW` (sd ratio above 0.71: the data
  has barely moved it),
* **weak** in between.

The contraction of the population's location and spread hyperparameters
(:func:`technorhythm.posteriors.identification_table`, also in the fit's ``summary.csv``)
is shown alongside.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from technorhythm.posteriors.arviz_adapter import DEFAULT_HDI_PROB, hdi_intervals
from technorhythm.report import html
from technorhythm.report.inputs import ReportInputs
from technorhythm.simulator.knobs import get_knob

__all__ = [
    "IDENTIFIED_AT",
    "PRIOR_DOMINATED_BELOW",
    "STATUSES",
    "classify",
    "knob_table",
    "render",
]

IDENTIFIED_AT = 0.9
PRIOR_DOMINATED_BELOW = 0.5
STATUSES = ("identified", "weak", "prior-dominated")


def classify(contraction: np.ndarray) -> list[str]:
    """The status of each contraction value (NaN counts as prior-dominated)."""
    c = np.nan_to_num(np.asarray(contraction, dtype=float), nan=-np.inf)
    return [
        "identified" if v >= IDENTIFIED_AT else "weak" if v >= PRIOR_DOMINATED_BELOW else
        "prior-dominated"
        for v in c
    ]  # fmt: skip


def _digits(bounds: np.ndarray) -> np.ndarray:
    """Decimals that resolve a thousandth of each knob's range."""
    return np.maximum(0, 3 - np.floor(np.log10(bounds[:, 1] - bounds[:, 0]))).astype(int)


def _round(values: np.ndarray, digits: np.ndarray) -> np.ndarray:
    return np.array([round(float(v), int(d)) + 0.0 for v, d in zip(values, digits, strict=True)])


def knob_table(
    inputs: ReportInputs,
    group: str,
    hyper_ident: pd.DataFrame | None = None,
    *,
    hdi_prob: float = DEFAULT_HDI_PROB,
) -> pd.DataFrame:
    """One row per knob of ``group`` (registry order), see the module docstring.

    Columns ``knob, unit, mean, hdi_low, hdi_high, post_sd, prior_sd, sd_ratio,
    contraction, status`` and, with ``hyper_ident`` (the identification table of the
    hyperparameters), ``loc_contraction, spread_contraction``.
    """
    g = inputs.groups.index(group)
    draws = inputs.mean_draws[g]  # (S, K)
    hdi = hdi_intervals(draws, hdi_prob)
    post_sd = draws.std(axis=0, ddof=1)
    ratio = post_sd / inputs.mean_prior_sd
    contraction = 1.0 - ratio**2
    digits = _digits(inputs.bounds)
    frame = pd.DataFrame(
        {
            "knob": inputs.knobs,
            "unit": [get_knob(k).unit for k in inputs.knobs],
            "mean": _round(draws.mean(axis=0), digits),
            "hdi_low": _round(hdi[:, 0], digits),
            "hdi_high": _round(hdi[:, 1], digits),
            "post_sd": post_sd,
            "prior_sd": inputs.mean_prior_sd,
            "sd_ratio": ratio,
            "contraction": contraction,
            "status": classify(contraction),
        }
    )
    if hyper_ident is not None:
        rows = hyper_ident[hyper_ident["group"].astype(str) == group]
        pivot = rows.pivot(index="knob", columns="param", values="contraction")
        frame["loc_contraction"] = pivot.loc[inputs.knobs, "loc"].to_numpy()
        frame["spread_contraction"] = pivot.loc[inputs.knobs, "spread"].to_numpy()
    return frame


def render(table: pd.DataFrame, *, hdi_prob: float = DEFAULT_HDI_PROB) -> str:
    """The identifiability table of one group as HTML, rows coloured by status."""
    counts = table["status"].value_counts()
    summary = ", ".join(f"{int(counts.get(s, 0))} {s}" for s in STATUSES)
    shown = table.drop(columns=["prior_sd"]).copy()
    span = f"{hdi_prob:.0%} HDI"
    headers = {
        "mean": "mean value",
        "hdi_low": f"{span} low",
        "hdi_high": f"{span} high",
        "post_sd": "posterior sd",
        "sd_ratio": "sd ratio",
        "loc_contraction": "contraction of loc",
        "spread_contraction": "contraction of spread",
    }
    body = html.table(
        shown,
        formats={
            "mean": ".3g",
            "hdi_low": ".3g",
            "hdi_high": ".3g",
            "post_sd": ".2g",
            "sd_ratio": ".2f",
            "contraction": ".2f",
            "loc_contraction": ".2f",
            "spread_contraction": ".2f",
        },
        row_classes=list(table["status"]),
        headers=headers,
        text_columns=("knob", "unit", "status"),
    )
    return (
        f"<p>Knobs: {html.escape(summary)}. Contraction = 1 − posterior var / prior var of "
        "the loops' mean value (prior: the uniform hyperprior); identified ≥ "
        f"{IDENTIFIED_AT}, prior-dominated &lt; {PRIOR_DOMINATED_BELOW}.</p>{body}"
    )
