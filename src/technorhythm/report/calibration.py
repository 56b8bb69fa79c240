"""Section: how calibrated the model that made the fit is, from its validation record.

Reads ``MODEL_DIR/validation.json`` (:mod:`technorhythm.report.validation_record`): SBC
rank ECDFs and the KS test per parameter (sbi's ``check_sbc``), TARP expected coverage
and its ATC, the coverage of the flow's highest-density regions and of per-knob
intervals (near the knobs' bounds too), and the record's headline figures. When the
model folder is unknown, or it carries no record, the section says so plainly: the
fit's calibration is then unknown.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd

from technorhythm.diagnostics.sbc import check_sbc
from technorhythm.diagnostics.tarp import check_tarp
from technorhythm.report import html, plots
from technorhythm.report.inputs import ModelInfo
from technorhythm.report.validation_record import VALIDATION_FILE, ValidationRecord

__all__ = ["status_line", "summary_table", "render"]

SBC_ALPHA = 0.01
"""Bonferroni-corrected KS p-value below which a parameter's SBC ranks are not uniform."""


def status_line(model: ModelInfo) -> str:
    """One sentence on the model's calibration record (HTML), for the header."""
    if model.directory is None:
        return html.escape(f"unknown — the model folder is {model.how}")
    if model.validation_error:
        return html.escape(f"unreadable: {model.validation_error}")
    if model.validation is None:
        return (
            f"<b>none</b>: the model folder {html.escape(model.directory)} has no "
            f"{VALIDATION_FILE}, so this fit's calibration is unknown"
        )
    rec = model.validation
    stale = "" if rec.matches_model else " — <b>for an earlier version of the model</b>"
    return html.escape(f"{VALIDATION_FILE} of {rec.created_utc}, {len(rec.runs)} runs") + stale


def summary_table(record: ValidationRecord) -> pd.DataFrame:
    """One row per run: SBC (parameters passing KS, mean-rank range), TARP ATC, HPD and
    interval coverage."""
    rows = []
    for run in record.runs:
        row: dict[str, object] = {"run": run.label, "packs": run.kind}
        if run.sbc is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = check_sbc(run.sbc, c2st=False)
            p = np.minimum(1.0, t["ks_p"].to_numpy() * len(t))
            row["SBC KS ok"] = f"{int((p > SBC_ALPHA).sum())}/{len(t)}"
            row["mean rank"] = f"{t.rank_mean.min():.2f}–{t.rank_mean.max():.2f}"
        if run.tarp is not None:
            row["TARP ATC"] = check_tarp(run.tarp)["atc"]
        if run.hpd_coverage is not None:
            for r in run.hpd_coverage.to_dict("records"):
                row[f"HPD {float(r['level']):.0%}"] = r["coverage"]
        if run.interval_coverage is not None:
            c = run.interval_coverage
            level = f"{run.interval_level:.0%}"
            row[f"{level} interval coverage"] = float(c["coverage"].mean())
            if "n_near" in c and c["n_near"].sum() > 0:
                near = c[c["n_near"] > 0]
                row["near a bound"] = float(
                    (near["coverage_near"] * near["n_near"]).sum() / near["n_near"].sum()
                )
        rows.append(row)
    return pd.DataFrame(rows)


def _headline(record: ValidationRecord) -> str:
    if not record.headline:
        return ""
    text = json.dumps(record.headline, indent=1, default=str)
    if len(text) > 6000:
        text = text[:6000] + "\n…"
    return (
        "<details><summary>headline figures of the record</summary>"
        f"<pre>{html.escape(text)}</pre></details>"
    )


def render(model: ModelInfo) -> str:
    """The calibration section's body (HTML)."""
    if model.directory is None:
        return html.note(
            "The calibration of the model this fit used is unknown: its model folder is "
            + html.escape(model.how)
            + ". Pass the model folder with <code>--model</code>."
        )
    if model.validation_error:
        return html.note(
            "The model's validation record could not be read: "
            + html.escape(model.validation_error)
        )
    record = model.validation
    if record is None:
        return html.note(
            f"The model in <code>{html.escape(model.directory)}</code> has no validation "
            f"record ({VALIDATION_FILE}): <b>its calibration has not been measured</b>, so "
            "nothing here says whether its posteriors can be trusted. "
            "<code>benchmarks/validate_inference.py --model MODEL_DIR</code> writes one."
        )
    parts = []
    if not record.matches_model:
        parts.append(
            html.note(
                "This record was written for an earlier version of the model (its manifest "
                "has changed since): the figures below may not describe the model used."
            )
        )
    parts.append(
        html.key_values(
            [
                ("record", html.escape(record.path)),
                ("written", html.escape(record.created_utc)),
                ("command", f"<code>{html.escape(record.command)}</code>"),
            ]
        )
    )
    summary = summary_table(record)
    parts.append(html.table(summary, formats={c: ".2f" for c in summary.columns[2:]}))
    sbc = record.sbc_results("prior") or record.sbc_results()
    if sbc:
        parts.append(
            html.image(
                plots.sbc_png(sbc),
                "SBC rank ECDFs",
                "SBC: the ECDF of each parameter's rank among posterior draws, one curve per "
                "run, with the band expected of a calibrated posterior.",
            )
        )
    tarp = record.tarp_results("prior") or record.tarp_results()
    if tarp:
        parts.append(
            html.image(
                plots.tarp_png(tarp),
                "TARP expected coverage",
                "TARP: expected coverage against credibility (the diagonal is calibrated).",
            )
        )
    parts.append(_headline(record))
    return "".join(parts)
