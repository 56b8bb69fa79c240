"""Section: do loops generated from a group's posterior look like the group?

Read from the fit's check folder (:mod:`technorhythm.posteriors.check_io`): the headline
figures of the group, the misspecification verdict by musical aspect with the most
surprising summaries, C2ST accuracy by feature family, the histograms' share of bins
inside the real bootstrap band, and the check's figures (onset profiles with bands,
distributions, C2ST by family).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from technorhythm.report import html, plots
from technorhythm.report.inputs import ChecksInfo

__all__ = ["FIGURES", "verdict_text", "render"]

FIGURES = (
    ("onsets.png", "onset profiles of real and generated loops with the real 95% band"),
    ("distributions.png", "velocity, timing and bar-repeat histograms with the real band"),
    ("c2st.png", "C2ST accuracy by feature family (0.5: indistinguishable)"),
)
"""The check's figures of a group, in the order shown, with their captions."""


def verdict_text(row: dict[str, Any] | None, alpha: float | None) -> str:
    """'misspecified (p = …)' / 'no evidence of misspecification (p = …)' as HTML."""
    if row is None or row.get("verdict_p") is None or pd.isna(row.get("verdict_p")):
        return "no verdict"
    p = float(row["verdict_p"])
    level = f" at α = {alpha:g}" if alpha is not None else ""
    if bool(row.get("flagged")):
        return f'<span class="flagged">misspecified</span> (p = {p:.3f}{level})'
    return f'<span class="ok">no evidence of misspecification</span> (p = {p:.3f}{level})'


def _headline(row: dict[str, Any], alpha: float | None) -> str:
    return html.key_values(
        [
            ("verdict", verdict_text(row, alpha)),
            (
                "C2ST accuracy",
                f"{html.fmt(row.get('c2st'), '.2f')} (0.5: a classifier cannot tell real "
                f"from generated loops; most telling family: "
                f"{html.escape(html.fmt(row.get('c2st_giveaway')))})",
            ),
            (
                "D posterior / floor",
                f"{html.fmt(row.get('d_ratio'), '.2f')} (1: as close as another half of the "
                f"pack; the prior predictive: {html.fmt(row.get('d_prior'), '.2f')} against "
                f"the posterior's {html.fmt(row.get('d_posterior'), '.2f')})",
            ),
            ("onset bins inside the real band", html.fmt(row.get("onset_in_band"), ".0%")),
            ("real clips", html.fmt(row.get("n_real"), "d")),
        ]
    )


def _aspects(detail: dict[str, Any]) -> str:
    aspects = pd.DataFrame(detail.get("verdict", {}).get("aspects", []))
    if aspects.empty:
        return ""
    classes = ["bad" if p is not None and p < 0.05 else "" for p in aspects["p_value"]]
    return (
        "<div><h5>Verdict by aspect</h5>"
        + html.table(
            aspects,
            formats={"surprise": ".1f", "p_value": ".3f", "n_summaries": "d", "n_outside": "d"},
            row_classes=classes,
            headers={"p_value": "p", "n_outside": "outside all predictive sets"},
        )
        + "</div>"
    )


def _surprising(detail: dict[str, Any], n: int = 6) -> str:
    summaries = pd.DataFrame(detail.get("verdict", {}).get("summaries", []))
    if summaries.empty or "tail_p" not in summaries:
        return ""
    worst = summaries.sort_values("tail_p", kind="stable").head(n)
    return "<h5>Most surprising summaries</h5>" + html.table(
        worst,
        formats={"tail_p": ".3f"},
        headers={
            "pred_median": "predictive median",
            "pred_lo": "predictive 2.5%",
            "pred_hi": "predictive 97.5%",
            "tail_p": "tail p",
        },
    )


def _families(detail: dict[str, Any]) -> str:
    c2st = pd.DataFrame(detail.get("c2st", []))
    if c2st.empty:
        return ""
    wide = c2st.pivot_table(index="family", columns="classifier", values="accuracy", sort=False)
    wide = wide.reset_index()
    wide.columns = [str(c) for c in wide.columns]
    return (
        "<div><h5>C2ST accuracy by feature family</h5>"
        + html.table(wide, formats={c: ".2f" for c in wide.columns if c != "family"})
        + "</div>"
    )


def _histograms(detail: dict[str, Any]) -> str:
    hist = detail.get("histograms") or {}
    if not hist:
        return ""
    frame = pd.DataFrame(
        [
            {
                "histogram": name,
                "bins in band": h.get("in_band"),
                "rel. error": h.get("rel_error"),
                "rel. error between real halves": h.get("rel_error_floor"),
            }
            for name, h in hist.items()
        ]
    )
    return (
        "<div><h5>Histograms against the real bootstrap band</h5>"
        + html.table(
            frame,
            formats={
                "bins in band": ".0%",
                "rel. error": ".2f",
                "rel. error between real halves": ".2f",
            },
        )
        + "</div>"
    )


def render(checks: ChecksInfo, group: str) -> str:
    """The predictive-check part of one group (HTML)."""
    row = checks.row(group)
    if row is None:
        reason = checks.note or "the group is not in the fit's check folder"
        return html.note(f"No posterior predictive check for this group: {html.escape(reason)}.")
    alpha = (checks.record or {}).get("options", {}).get("alpha")
    detail = checks.group_detail(group) or {}
    parts = [_headline(row, alpha)]
    for line in detail.get("notes", []):
        parts.append(html.note(html.escape(line)))
    parts.append(
        '<div class="row">'
        + "".join(x for x in (_aspects(detail), _families(detail), _histograms(detail)) if x)
        + "</div>"
    )
    parts.append(_surprising(detail))
    folder = checks.group_folder(group)
    missing = []
    for name, caption in FIGURES:
        path = None if folder is None else folder / name
        if path is not None and path.is_file():
            parts.append(html.image(plots.compact_png(path.read_bytes()), caption, caption))
        else:
            missing.append(name)
    if missing:
        parts.append(
            html.note(
                "Figures not in the check folder (checks saved without plots): "
                + html.escape(", ".join(missing))
            )
        )
    return "".join(parts)
