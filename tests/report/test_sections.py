"""Sections with known answers: the ranking, the calibration record, the header's commands."""

from __future__ import annotations

import shlex
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from technorhythm.diagnostics import SBCResult, TarpResult
from technorhythm.report import ValidationRun, save_validation_record
from technorhythm.report.inputs import ChecksInfo, find_model


def _tables(inputs):
    frame = pd.DataFrame({"status": ["identified"], "contraction": [0.95]})
    return {g: frame for g in inputs.groups}


def test_groups_are_ranked_by_fit_quality(inputs):
    # detroit best on every measure, all worst; minimal and warehouse trade places
    table = pd.DataFrame(
        {
            "group": ["detroit", "industrial", "minimal", "warehouse", "all"],
            "c2st": [0.55, 0.70, 0.60, 0.80, 0.99],
            "d_ratio": [1.1, 1.5, 2.5, 1.2, 4.0],
            "onset_in_band": [0.95, 0.80, 0.70, 0.85, 0.20],
            "verdict_p": [0.6, 0.3, 0.2, 0.25, 0.001],
            "flagged": [False, False, False, False, True],
        }
    )
    from technorhythm.report.across import rank_groups

    ranked = rank_groups(replace(inputs, checks=ChecksInfo(None, {}, table)), _tables(inputs))
    assert ranked["group"].tolist() == ["detroit", "industrial", "warehouse", "minimal", "all"]
    assert ranked["rank"].tolist() == [1, 2, 3, 4, 5]
    assert ranked.set_index("group").loc["all", "flagged"]


def _record_runs(rng, names):
    runs = []
    for n in (1, 16):
        ranks = rng.integers(0, 101, (60, len(names)))
        sbc = SBCResult(ranks, np.zeros(ranks.shape), np.zeros(ranks.shape), 100, names, n)
        alpha = np.linspace(0, 1, 21)
        tarp = TarpResult(alpha.copy(), alpha, 60, n)
        hpd = pd.DataFrame({"level": [0.5, 0.9], "coverage": [0.5, 0.9], "ok": [True, True]})
        runs.append(ValidationRun(f"N = {n}", n, "prior", sbc, tarp, hpd))
    return runs


def test_calibration_section_reads_the_models_record(inputs, known_model_dir, tmp_path, rng):
    from technorhythm.report import calibration

    model_dir = tmp_path / "model"
    shutil.copytree(known_model_dir, model_dir)
    save_validation_record(
        model_dir, _record_runs(rng, ("a_loc", "a_spread")), command="validate --model M"
    )
    model = find_model(inputs.record, model_dir)
    assert model.matches_fit and model.validation is not None
    body = calibration.render(model)
    assert body.count("<img ") == 2  # SBC rank ECDFs and TARP
    assert "validate --model M" in body and "earlier version" not in body
    summary = calibration.summary_table(model.validation)
    assert summary["run"].tolist() == ["N = 1", "N = 16"]
    assert summary["HPD 90%"].tolist() == [0.9, 0.9]
    assert summary["TARP ATC"].abs().max() < 1e-6  # an exactly diagonal TARP curve
    assert "validation.json of" in calibration.status_line(model)
    # retraining the model (a new manifest) makes the record stale, and the report says so
    (model_dir / "manifest.json").write_text('{"format": "retrained"}', encoding="utf-8")
    assert "earlier version of the model" in calibration.render(
        find_model(inputs.record, model_dir)
    )


def test_the_header_rebuilds_the_fit_command(inputs, known_model_dir):
    from technorhythm.report import header

    cmd = header.fit_command(inputs.record, "FIT", str(known_model_dir))
    args = shlex.split(cmd)
    assert args[:3] == ["technorhythm", "fit", inputs.record["dataset"]]
    assert "--add-all" in args and args[args.index("--by") + 1] == "pack"
    assert args[args.index("--n-samples") + 1] == "200"
    assert args[args.index("--model") + 1] == str(known_model_dir)
    # the command parses with the real CLI
    from technorhythm.cli import build_parser

    parsed = build_parser().parse_args(args[1:])
    assert parsed.add_all and parsed.n_samples == 200 and parsed.by == "pack"
    body = header.render(inputs, "technorhythm report FIT --out r.html")
    for group in inputs.groups:
        assert f">{group}</a> ({inputs.n_clips[group]})" in body
    assert "technorhythm report FIT --out r.html" in body


@pytest.mark.parametrize("missing", ["onsets.png", "c2st.png"])
def test_check_figures_missing_from_disk_are_named(inputs, tmp_path, missing):
    from technorhythm.report import checks

    folder = tmp_path / "check"
    shutil.copytree(inputs.checks.directory, folder)
    (folder / inputs.checks.record["group_folders"]["detroit"] / missing).unlink()
    info = replace(inputs.checks, directory=folder)
    body = checks.render(info, "detroit")
    assert body.count("<img ") == 2 and missing in body
