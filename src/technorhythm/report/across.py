"""Section: every group side by side — a forest plot per knob and the groups ranked by fit.

The ranking orders groups by how well generated loops match them: the mean of their ranks
on C2ST accuracy (lower is better), D posterior / floor (lower), the share of onset bins
inside the real band (higher) and the verdict's p-value (higher). Ties keep the fit's
group order. Without checks there is no ranking, only the identification counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from technorhythm.posteriors.arviz_adapter import DEFAULT_HDI_PROB
from technorhythm.report import html, plots
from technorhythm.report.inputs import ReportInputs
from technorhythm.simulator.knobs import get_knob

__all__ = ["RANK_BY", "rank_groups", "render"]

RANK_BY = (
    ("c2st", True),
    ("d_ratio", True),
    ("onset_in_band", False),
    ("verdict_p", False),
)
"""(check.csv column, lower is better) of the measures the ranking averages."""


def rank_groups(inputs: ReportInputs, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per group: fit quality, identification counts and ``rank`` (1 = best).

    ``tables`` maps each group to its identifiability table
    (:func:`technorhythm.report.identifiability.knob_table`).
    """
    rows = []
    for g in inputs.groups:
        t = tables[g]
        row = {
            "group": g,
            "clips": inputs.n_clips[g],
            "identified": int((t["status"] == "identified").sum()),
            "weak": int((t["status"] == "weak").sum()),
            "prior-dominated": int((t["status"] == "prior-dominated").sum()),
            "median contraction": float(np.nanmedian(t["contraction"])),
        }
        check = inputs.checks.row(g) or {}
        for column, _ in RANK_BY:
            value = check.get(column)
            row[column] = float(value) if value is not None and not pd.isna(value) else np.nan
        row["flagged"] = bool(check.get("flagged", False)) if check else None
        rows.append(row)
    frame = pd.DataFrame(rows)
    if inputs.checks.table is None:
        frame.insert(0, "rank", np.nan)
        return frame
    ranks = [
        frame[col].rank(ascending=lower_better, method="average", na_option="bottom")
        for col, lower_better in RANK_BY
    ]
    score = pd.concat(ranks, axis=1).mean(axis=1)
    frame.insert(0, "rank", score.rank(method="first").astype(int))
    return frame.sort_values("rank", kind="stable").reset_index(drop=True)


def _ranking_html(ranking: pd.DataFrame, anchors: dict[str, str]) -> str:
    shown = ranking.drop(columns=["flagged"]).copy()
    shown["verdict"] = [
        "no check" if f is None else "misspecified" if f else "ok" for f in ranking["flagged"]
    ]
    body = html.table(
        shown,
        formats={
            "rank": ".0f",
            "clips": "d",
            "identified": "d",
            "weak": "d",
            "prior-dominated": "d",
            "median contraction": ".2f",
            "c2st": ".2f",
            "d_ratio": ".2f",
            "onset_in_band": ".0%",
            "verdict_p": ".3f",
        },
        headers={
            "c2st": "C2ST",
            "d_ratio": "D post / floor",
            "onset_in_band": "onsets in band",
            "verdict_p": "verdict p",
        },
        row_classes=["bad" if f else "" for f in ranking["flagged"]],
    )
    for g, a in anchors.items():  # link each group name to its section
        cell = f'<td class="text">{html.escape(g)}</td>'
        body = body.replace(cell, f'<td class="text"><a href="#{a}">{html.escape(g)}</a></td>', 1)
    flagged = [g for g, f in zip(ranking["group"], ranking["flagged"], strict=True) if f]
    return body + (
        f"<p>{len(flagged)} of {len(ranking)} groups flagged as misspecified"
        + (": " + html.escape(", ".join(flagged)) if flagged else "")
        + ".</p>"
    )


def render(
    inputs: ReportInputs,
    ranking: pd.DataFrame,
    anchors: dict[str, str],
    *,
    hdi_prob: float = DEFAULT_HDI_PROB,
) -> str:
    """Ranking table and forest plots (HTML)."""
    parts = ["<h3>Groups ranked by fit quality</h3>"]
    if inputs.checks.table is None:
        parts.append(
            html.note(
                "No ranking: the fit has no posterior predictive checks ("
                + html.escape(inputs.checks.note)
                + ")."
            )
        )
    else:
        parts.append(
            "<p>Rank 1 fits best: the mean of the group's ranks on C2ST accuracy, D posterior "
            "/ floor, onset bins in band and the verdict's p-value. Rows in red are flagged "
            "as misspecified.</p>"
        )
    parts.append(_ranking_html(ranking, anchors))
    labels = {k: f"{get_knob(k).label} ({k})" for k in inputs.knobs}
    png = plots.forest_png(
        inputs.means, inputs.knobs, inputs.bounds, hdi_prob=hdi_prob, labels=labels
    )
    parts.append("<h3>Forest plot per knob</h3>")
    parts.append(
        html.image(
            png,
            "forest plot per knob",
            f"Each knob's mean value over the loops of every group: {hdi_prob:.0%} HDI (thin) "
            "and interquartile range (thick) of its posterior (ArviZ); the x axis spans the "
            "knob's range.",
        )
    )
    return "".join(parts)
