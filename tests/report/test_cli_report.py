"""``technorhythm report`` and ``fit --report`` on the command line."""

from __future__ import annotations

import pytest

from technorhythm.cli import main


def test_report_command_writes_the_page(fit_dir, known_model_dir, tmp_path, capsys):
    out = tmp_path / "r.html"
    args = ["report", str(fit_dir), "--out", str(out), "--model", str(known_model_dir)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert f"report written to {out}" in printed and "open it in a browser" in printed
    page = out.read_text(encoding="utf-8")
    assert "<h2>Model calibration</h2>" in page and "has no validation record" in page
    # a second run must be explicit
    assert main(args) == 2
    assert "exists; pass --force" in capsys.readouterr().err


def test_report_errors_are_for_people(tmp_path, capsys):
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "r.html")]) == 2
    assert "not a complete fit folder (no fit.json)" in capsys.readouterr().err


@pytest.mark.slow
def test_fit_with_report_writes_it_in_the_same_pass(demo_dataset, tmp_path, capsys, monkeypatch):
    from known_estimator import KnownEstimator

    from technorhythm.inference import packaged

    monkeypatch.setattr(packaged, "load_shipped", KnownEstimator)
    out = tmp_path / "fit"
    html = tmp_path / "fit.html"
    code = main(
        [
            "fit", str(demo_dataset), "--out", str(out), "--n-samples", "100",
            "--no-check", "--no-plot", "--report", str(html),
        ]
    )  # fmt: skip
    assert code == 0
    assert f"report: {html}" in capsys.readouterr().out
    page = html.read_text(encoding="utf-8")
    assert "<h3>Group: warehouse</h3>" in page
    assert "the fit has no posterior predictive checks" in page  # --no-check is respected
