"""The report of a fit whose posterior is known: sections, known answers, missing parts."""

from __future__ import annotations

import re
import shutil

import pytest
from known_estimator import N_PINNED, TRADE_OFF

from technorhythm.report import build_report
from technorhythm.simulator.knobs import KNOB_NAMES

GROUPS = ("detroit", "industrial", "minimal", "warehouse", "all")


@pytest.fixture(scope="module")
def report(fit_dir, known_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "report.html"
    result = build_report(fit_dir, out, model_dir=known_model_dir)
    return result, out.read_text(encoding="utf-8")


def _group_part(page: str, group: str) -> str:
    start = page.index(f"<h3>Group: {group}</h3>")
    end = page.find("<h3>Group: ", start + 10)
    return page[start : end if end > 0 else len(page)]


def test_one_self_contained_page_with_every_section(report):
    result, page = report
    assert result.path.is_file() and result.n_bytes == len(page.encode("utf-8"))
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    for heading in ("Fit", "Across groups", "Groups", "Model calibration"):
        assert f"<h2>{heading}</h2>" in page
    for group in GROUPS:
        assert f"<h3>Group: {group}</h3>" in page
    # every image is embedded; nothing refers to another file or host
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r'(href|src)="(https?:)?//', page)
    assert "<script" not in page and "<link" not in page


def test_each_group_has_its_plots_tables_and_checks(report):
    _, page = report
    for group in GROUPS:
        part = _group_part(page, group)
        for heading in (
            "Posterior marginals",
            "Identifiability",
            "Correlations and merge candidates",
            "Posterior predictive checks",
        ):
            assert f"<h4>{heading}</h4>" in part
        # marginals, heatmap, pair plot and the check's three figures
        assert part.count("<img ") == 6
        assert "Verdict by aspect" in part and "C2ST accuracy by feature family" in part


def test_identifiability_matches_the_known_posterior(fit_dir, known_model_dir):
    from technorhythm.posteriors.tables import identification_table
    from technorhythm.report.identifiability import knob_table
    from technorhythm.report.inputs import load_inputs

    inputs = load_inputs(fit_dir, model_dir=known_model_dir, run_checks=False)
    ident = identification_table(inputs.idata)
    for group in GROUPS:
        table = knob_table(inputs, group, ident).set_index("knob")
        pinned = list(KNOB_NAMES[:N_PINNED])
        free = [k for i, k in enumerate(KNOB_NAMES) if i >= N_PINNED and i not in TRADE_OFF]
        assert (table.loc[pinned, "status"] == "identified").all()
        assert (table.loc[free, "status"] == "prior-dominated").all()
        assert (table.loc[pinned, "contraction"] > 0.99).all()
        # the traded-off pair: each knob alone is not pinned down
        assert (table.loc[[KNOB_NAMES[i] for i in TRADE_OFF], "contraction"] < 0.9).all()
        assert {"loc_contraction", "spread_contraction"} <= set(table.columns)


def test_the_trade_off_is_a_merge_candidate(report):
    _, page = report
    a, b = (KNOB_NAMES[i] for i in TRADE_OFF)
    for group in GROUPS:
        part = _group_part(page, group)
        candidates = part[part.index("Merge candidates") : part.index("</ul>")]
        rho = re.search(f"<b>{a}</b> and <b>{b}</b>: ρ = ([-+.0-9]+)</li>", candidates)
        assert rho is not None and float(rho.group(1)) < -0.9
        assert "a shared direction the data leaves open" in candidates
        # no other pair: the remaining knobs are independent
        assert candidates.count("<li>") == 2


def test_ranking_and_verdicts_come_from_the_checks(report, fit_dir):
    import pandas as pd

    _, page = report
    checks = pd.read_csv(fit_dir / "check" / "check.csv")
    across = page[page.index("<h2>Across groups</h2>") : page.index("<h2>Groups</h2>")]
    for group in GROUPS:
        assert f">{group}</a></td>" in across
    flagged = int(checks["flagged"].sum())
    assert f"{flagged} of {len(GROUPS)} groups flagged as misspecified" in across
    assert across.count("misspecified</td>") == flagged


def test_model_without_a_validation_record_is_said_plainly(report):
    _, page = report
    calib = page[page.index("<h2>Model calibration</h2>") :]
    assert "has no validation record" in calib and "calibration has not been measured" in calib
    assert "no validation.json" in page  # in the header, too


def test_unknown_model_folder_is_said_plainly(inputs):
    from technorhythm.report import calibration
    from technorhythm.report.inputs import find_model

    model = find_model(inputs.record)  # not given, and not the shipped model
    assert model.directory is None and "not the shipped one" in model.how
    assert "The calibration of the model this fit used is unknown" in calibration.render(model)


def test_a_model_that_is_not_the_fits_is_flagged(inputs, tmp_path):
    from dataclasses import replace

    from technorhythm.report import header
    from technorhythm.report.inputs import find_model

    assert "this is not the model" not in header.render(inputs, "cmd")
    other = tmp_path / "other_model"
    other.mkdir()
    (other / "manifest.json").write_text('{"format": "something else"}', encoding="utf-8")
    model = find_model(inputs.record, other)
    assert model.matches_fit is False
    assert "this is not the model the fit used" in header.render(
        replace(inputs, model=model), "cmd"
    )


def test_missing_checks_are_said_or_run_and_saved(fit_dir, demo_dataset, tmp_path, monkeypatch):
    from technorhythm.posteriors import check_io
    from technorhythm.report import across, checks
    from technorhythm.report.inputs import _load_or_run_checks, load_inputs

    copy = tmp_path / "fit"
    shutil.copytree(fit_dir, copy, ignore=shutil.ignore_patterns("check"))
    # without running them: every part that needs them says there are none
    bare = load_inputs(copy, run_checks=False)
    assert bare.checks.table is None and "no posterior predictive checks" in bare.checks.note
    assert "No posterior predictive check for this group" in checks.render(bare.checks, "detroit")
    ranking = across.rank_groups(bare, {g: _fake_table() for g in bare.groups})
    assert ranking["rank"].isna().all() and ranking["flagged"].isna().all()
    # running them (small settings keep the test quick), saved where `fit` puts them
    calls = []

    def small_check_fit(fit, data=None, **kwargs):
        calls.append(fit)
        return check_io.check_fit(fit, data, n_predictive=32, n_verdict_sets=20)

    monkeypatch.setattr("technorhythm.posteriors.check_fit", small_check_fit)
    info = _load_or_run_checks(copy, True, demo_dataset, False)
    assert calls and info.ran_now and (copy / "check" / "check.json").is_file()
    assert list(info.table["group"]) == list(GROUPS)


def _fake_table():
    import pandas as pd

    return pd.DataFrame({"status": ["identified", "weak"], "contraction": [0.95, 0.6]})


def test_out_must_be_a_file(fit_dir, tmp_path):
    with pytest.raises(IsADirectoryError):
        build_report(fit_dir, tmp_path, run_checks=False)


def test_not_a_fit_folder_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a complete fit folder"):
        build_report(tmp_path, tmp_path / "r.html")
