"""The report of a demo-corpus fit in a real headless browser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from technorhythm.report import build_report

pytestmark = pytest.mark.browser

GROUPS = ("detroit", "industrial", "minimal", "warehouse", "all")


def test_report_renders_offline_with_every_image(fit_dir, known_model_dir, open_page, tmp_path):
    out = build_report(fit_dir, tmp_path / "report.html", model_dir=known_model_dir).path
    page, log = open_page(out.as_uri(), wait_until="load")
    dataset = Path(json.loads((fit_dir / "fit.json").read_text())["dataset"])
    assert page.title() == f"technorhythm report: {dataset.parent.name}/dataset by pack"
    h2 = page.locator("h2").all_inner_texts()
    assert h2 == ["Fit", "Across groups", "Groups", "Model calibration"]
    h3 = page.locator("h3").all_inner_texts()
    assert [f"Group: {g}" for g in GROUPS] == [h for h in h3 if h.startswith("Group: ")]
    images = page.evaluate(
        "Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])"
    )
    assert len(images) == 1 + 6 * len(GROUPS)  # the forest plot and six figures per group
    assert all(complete and width > 0 for complete, width, _ in images), images
    # the table of contents leads to every group
    for g in GROUPS:
        target = page.locator("nav a", has_text=f"Group: {g}").get_attribute("href")
        assert page.locator(target).count() == 1
    assert log.console_errors == [] and log.page_errors == []
    assert log.requests == [out.as_uri()]  # the page itself, nothing else
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
