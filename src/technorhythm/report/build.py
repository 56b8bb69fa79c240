"""Assembling the report: read the inputs, render every section, write one HTML file.

Layout of the page: the header (dataset, groups, model, software, commands); across
groups (the ranking by fit quality and a forest plot per knob); one part per group
(marginals, identifiability, correlations and merge candidates, predictive checks); the
model's calibration.
"""

from __future__ import annotations

import os
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

from technorhythm.atomic import atomic_write_text
from technorhythm.posteriors.arviz_adapter import DEFAULT_HDI_PROB
from technorhythm.posteriors.tables import identification_table
from technorhythm.report import (
    across,
    calibration,
    checks,
    correlations,
    header,
    html,
    identifiability,
    marginals,
    plots,
)
from technorhythm.report.inputs import ReportInputs, load_inputs

__all__ = ["ReportResult", "build_report", "render_report", "report_command"]


@dataclass(frozen=True)
class ReportResult:
    """The written report: ``path``, its size in bytes, seconds per stage."""

    path: Path
    n_bytes: int
    timing: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def report_command(fit_dir, out, model_dir=None) -> str:
    """The ``technorhythm report`` command that writes this report."""
    args = ["technorhythm", "report", str(fit_dir), "--out", str(out)]
    if model_dir is not None:
        args += ["--model", str(model_dir)]
    return shlex.join(args)


def _group_section(
    inputs: ReportInputs, group: str, anchor: str, hyper_ident, hdi_prob: float, canvas
) -> tuple[str, object]:
    g = inputs.groups.index(group)
    table = identifiability.knob_table(inputs, group, hyper_ident, hdi_prob=hdi_prob)
    corr = correlations.correlation_matrix(inputs.mean_draws[g])
    pairs = correlations.strong_pairs(corr, inputs.knobs)
    directions = correlations.weak_directions(
        inputs.mean_draws[g], inputs.mean_prior_sd, inputs.knobs
    )
    chosen = correlations.top_pairs(corr, inputs.knobs)
    pair_png = plots.pair_png(inputs.means, group, chosen) if chosen else None
    body = "".join(
        [
            f"<p>{inputs.n_clips[group]} loops. Posterior predictive verdict: "
            f"{checks.verdict_text(inputs.checks.row(group), _alpha(inputs))}.</p>",
            "<h4>Posterior marginals</h4>",
            marginals.render(inputs, group, hdi_prob=hdi_prob, canvas=canvas),
            "<h4>Identifiability</h4>",
            identifiability.render(table, hdi_prob=hdi_prob),
            "<h4>Correlations and merge candidates</h4>",
            correlations.render(pairs, directions, plots.heatmap_png(corr, inputs.knobs), pair_png),
            "<h4>Posterior predictive checks</h4>",
            checks.render(inputs.checks, group),
        ]
    )
    return html.Section(anchor, f"Group: {group}", body, level=3).html(), table


def _alpha(inputs: ReportInputs):
    return (inputs.checks.record or {}).get("options", {}).get("alpha")


def render_report(
    inputs: ReportInputs, *, command: str, hdi_prob: float = DEFAULT_HDI_PROB
) -> tuple[str, dict[str, float]]:
    """The whole page for ``inputs`` (HTML) and seconds per stage."""
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    hyper_ident = identification_table(inputs.idata)
    anchors = {g: html.anchor("group", g, i) for i, g in enumerate(inputs.groups)}
    group_html, tables = [], {}
    canvas = plots.MarginalsCanvas(inputs.knobs, inputs.bounds)
    try:
        for group in inputs.groups:
            part, tables[group] = _group_section(
                inputs, group, anchors[group], hyper_ident, hdi_prob, canvas
            )
            group_html.append(part)
    finally:
        canvas.close()
    timing["groups_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    ranking = across.rank_groups(inputs, tables)
    across_html = across.render(inputs, ranking, anchors, hdi_prob=hdi_prob)
    timing["across_s"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    calibration_html = calibration.render(inputs.model)
    timing["calibration_s"] = time.perf_counter() - t2
    dataset = "/".join(Path(str(inputs.record.get("dataset") or inputs.fit_dir)).parts[-2:])
    title = f"technorhythm report: {dataset} by {inputs.record.get('by', '?')}"
    sections = [
        html.Section("fit", "Fit", header.render(inputs, command)).html(),
        html.Section("across", "Across groups", across_html).html(),
        html.Section("groups", "Groups", "".join(group_html)).html(),
        html.Section("calibration", "Model calibration", calibration_html).html(),
    ]
    nav = [
        ("fit", "Fit"),
        ("across", "Across groups"),
        *((anchors[g], f"Group: {g}") for g in inputs.groups),
        ("calibration", "Model calibration"),
    ]
    intro = (
        "<p>A diagnostic report of a population fit: which knobs the data pins down, which "
        "trade off, whether loops generated from the posterior look like the group, and "
        "whether the model that made it is calibrated.</p>"
    )
    return html.document(title, intro, nav, sections), timing


def build_report(
    fit_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    model_dir: str | os.PathLike[str] | None = None,
    run_checks: bool = True,
    dataset=None,
    hdi_prob: float = DEFAULT_HDI_PROB,
    command: str | None = None,
    progress: bool = False,
) -> ReportResult:
    """Write the HTML report of the fit in ``fit_dir`` to ``out`` (atomically).

    Parameters
    ----------
    fit_dir : a folder written by ``technorhythm fit``.
    out : the HTML file to write.
    model_dir : the model folder the fit used (default: the shipped model when it is the
        one recorded in the fit); its ``validation.json`` gives the calibration section.
    run_checks : run and save the posterior predictive checks when the fit has none.
    dataset : the clips the fit was made from, for running the checks (default: the one
        recorded in ``fit.json``).
    command : the command line shown in the header (default: the equivalent
        ``technorhythm report`` command).
    """
    from technorhythm.threads import limit_threads

    out = Path(out)
    if out.exists() and out.is_dir():
        raise IsADirectoryError(f"{out} is a directory; --out takes an HTML file name")
    t0 = time.perf_counter()
    inputs = load_inputs(
        fit_dir, model_dir=model_dir, run_checks=run_checks, dataset=dataset, progress=progress
    )
    timing = {"load_s": time.perf_counter() - t0}
    with limit_threads(1):
        page, stages = render_report(
            inputs, command=command or report_command(fit_dir, out, model_dir), hdi_prob=hdi_prob
        )
    timing.update(stages)
    t1 = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, page)
    timing["write_s"] = time.perf_counter() - t1
    timing["total_s"] = time.perf_counter() - t0
    notes = tuple(n for n in (inputs.checks.note,) if n)
    return ReportResult(out, len(page.encode("utf-8")), timing, notes)
