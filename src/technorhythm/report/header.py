"""Section: what was fitted, with which model, by which software and commands.

The fit command is rebuilt from ``fit.json`` (its options are recorded, the command line
is not); the model's training command comes from its manifest.
"""

from __future__ import annotations

import platform
import shlex
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from technorhythm.report import html
from technorhythm.report.calibration import status_line
from technorhythm.report.inputs import ReportInputs

__all__ = ["SOFTWARE", "software_versions", "fit_command", "check_command", "render"]

SOFTWARE = ("technorhythm", "numpy", "torch", "sbi", "arviz", "pymc", "xarray", "matplotlib")
"""Distributions whose installed versions the header lists."""


def software_versions() -> dict[str, str]:
    """Installed versions of :data:`SOFTWARE` and Python."""
    out = {"python": platform.python_version()}
    for name in SOFTWARE:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def fit_command(record: dict[str, Any], fit_dir: str, model_dir: str | None) -> str:
    """The ``technorhythm fit`` command equivalent to a fit folder's recorded options."""
    opts = record.get("options", {})
    args = ["technorhythm", "fit", str(record.get("dataset") or "DATASET_DIR")]
    args += ["--by", str(record.get("by", "pack"))]
    if opts.get("add_all") and record.get("by") != "all":
        args.append("--add-all")
    if record.get("split"):
        args += ["--split", str(record["split"])]
    if opts.get("n_cap"):
        args += ["--n-cap", str(opts["n_cap"])]
    args += ["--n-samples", str(opts.get("n_samples", 400)), "--seed", str(opts.get("seed", 0))]
    if int(opts.get("min_clips", 1)) != 1:
        args += ["--min-clips", str(opts["min_clips"])]
    if opts.get("loops") is False:
        args.append("--no-loops")
    if model_dir:
        args += ["--model", str(model_dir)]
    args += ["--out", str(fit_dir)]
    return shlex.join(args)


def check_command(check_record: dict[str, Any] | None, fit_dir: str) -> str:
    """The ``technorhythm check`` command equivalent to a check folder's options."""
    if not check_record:
        return ""
    opts = check_record.get("options", {})
    args = ["technorhythm", "check", str(fit_dir), "--out", f"{fit_dir}/check"]
    for key, flag in (("n_predictive", "--n-predictive"), ("n_verdict_sets", "--verdict-sets")):
        if key in opts:
            args += [flag, str(opts[key])]
    if "alpha" in opts:
        args += ["--alpha", f"{opts['alpha']:g}"]
    if "seed" in opts:
        args += ["--seed", str(opts["seed"])]
    return shlex.join(args)


def _groups_line(inputs: ReportInputs) -> str:
    parts = [
        f'<a href="#{html.escape(a)}">{html.escape(g)}</a> ({inputs.n_clips[g]})'
        for g, a in zip(inputs.groups, _anchors(inputs), strict=True)
    ]
    return f"{len(inputs.groups)}: " + ", ".join(parts)


def _anchors(inputs: ReportInputs) -> list[str]:
    return [html.anchor("group", g, i) for i, g in enumerate(inputs.groups)]


def _model_rows(inputs: ReportInputs) -> list[tuple[str, str]]:
    m = inputs.model
    fit_hash = str((inputs.record.get("model") or {}).get("model_hash", ""))
    rows = [("model hash (recorded in the fit)", f"<code>{html.escape(fit_hash)}</code>")]
    if m.directory is None:
        rows.append(("model folder", html.escape(m.how)))
    else:
        where = f"<code>{html.escape(m.directory)}</code> ({html.escape(m.how)})"
        if m.matches_fit is False:
            where += (
                f' <span class="flagged">its hash {html.escape(m.model_hash)} is not the '
                "fit's: this is not the model the fit used</span>"
            )
        rows.append(("model folder", where))
        manifest = m.manifest or {}
        reference = manifest.get("data_reference") or {}
        rows.append(
            (
                "model",
                html.escape(
                    f"{manifest.get('format', '?')}, trained {manifest.get('created_utc', '?')} "
                    f"on {manifest.get('n_sets', '?')} simulated packs"
                ),
            )
        )
        if reference.get("command"):
            rows.append(("trained with", f"<code>{html.escape(reference['command'])}</code>"))
        trained = manifest.get("software") or {}
        if trained:
            rows.append(
                (
                    "model trained with",
                    html.escape(", ".join(f"{k} {v}" for k, v in trained.items())),
                )
            )
    rows.append(("calibration record", status_line(m)))
    return rows


def render(inputs: ReportInputs, report_command: str) -> str:
    """The header's body (HTML): dataset, groups, model, software and commands."""
    rec = inputs.record
    model_dir = str(inputs.model.directory) if inputs.model.directory is not None else None
    fit_cmd = fit_command(rec, str(inputs.fit_dir), model_dir)
    check_cmd = check_command(inputs.checks.record, str(inputs.fit_dir))
    commands = [fit_cmd]
    if inputs.checks.ran_now:
        commands.append("# the checks were run by the report (as below) and saved in FIT/check")
    if check_cmd:
        commands.append(check_cmd)
    commands.append(report_command)
    skipped = int(rec.get("n_skipped_clips", 0))
    rows = [
        ("dataset", f"<code>{html.escape(rec.get('dataset') or 'not recorded')}</code>"),
        (
            "groups",
            f"by {html.escape(rec.get('by'))}"
            + (f", split {html.escape(rec['split'])}" if rec.get("split") else "")
            + f"; {_groups_line(inputs)}",
        ),
        (
            "clips",
            f"{rec.get('n_clips', '?')} fitted"
            + (f", {skipped} not fitted (skipped.csv)" if skipped else ""),
        ),
        ("fit folder", f"<code>{html.escape(inputs.fit_dir)}</code>"),
        *_model_rows(inputs),
        (
            "software",
            html.escape(", ".join(f"{k} {v}" for k, v in software_versions().items())),
        ),
        ("written", html.escape(datetime.now(UTC).isoformat(timespec="seconds"))),
    ]
    return (
        html.key_values(rows)
        + "<h4>Commands</h4><p>The fit command is rebuilt from fit.json; running these "
        "reproduces this report.</p><pre>" + html.escape("\n".join(commands)) + "</pre>"
    )
