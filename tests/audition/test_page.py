"""The audition page in headless chromium: sliders from the registry, a slider move swaps the
grid and the audio, packs set the sliders, no console errors, nothing fetched off the host."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest

from technorhythm.simulator.knobs import KNOBS

pytestmark = pytest.mark.browser

SCREENSHOT_DIR = "TECHNORHYTHM_SCREENSHOT_DIR"
"""When set, the screenshot is also copied there (how docs/img/generation is made)."""


def _knob_that_changes_the_loop(server: str):
    """A knob whose far end changes the default loop's hits and audio (read from the API)."""
    base = httpx.get(f"{server}/api/loop").json()
    for knob in KNOBS:
        far = knob.high if knob.default - knob.low < knob.high - knob.default else knob.low
        moved = httpx.get(f"{server}/api/loop", params={knob.name: far}).json()
        if moved["velocity"] != base["velocity"]:
            return knob, far
    raise AssertionError("no knob changes the default loop")


def _wait_renders(page, n: int) -> None:
    page.wait_for_function(f"window.audition && window.audition.state.renders >= {n}")


def test_the_page_plays_and_swaps_loops(server, open_page, tmp_path):
    knob, far = _knob_that_changes_the_loop(server)
    page, log = open_page(server + "/")
    _wait_renders(page, 1)
    sliders = page.locator("#knobs input[type=range]")
    assert sliders.count() == len(KNOBS)
    for i, k in enumerate(KNOBS):
        slider = sliders.nth(i)
        assert slider.get_attribute("name") == k.name
        assert float(slider.get_attribute("min")) == k.low
        assert float(slider.get_attribute("max")) == k.high
        assert float(slider.input_value()) == pytest.approx(k.default)
    assert page.locator(".knob .help").first.inner_text().startswith(KNOBS[0].meaning)
    assert page.locator("#grid rect.hit").count() == int(page.get_attribute("#grid", "data-hits"))
    assert page.get_attribute("#grid", "data-steps") == "64"
    page.click("#play")
    page.wait_for_function("window.audition.state.playing")
    before = page.evaluate(
        "[window.audition.state.wavUrl, document.querySelector('#grid').dataset.key]"
    )
    page.locator(f"#knob-{knob.name}").fill(str(far))
    _wait_renders(page, 2)
    page.wait_for_function("window.audition.state.swaps >= 1")
    after = page.evaluate(
        "[window.audition.state.wavUrl, document.querySelector('#grid').dataset.key]"
    )
    assert after[0] != before[0] and after[1] != before[1]
    assert f"{knob.name}={far!r}" in after[0] or f"{knob.name}={float(far)!r}" in after[0]
    assert page.evaluate("window.audition.audio.ctx.state") == "running"
    midi = page.get_attribute("#download-midi", "href")
    assert midi.startswith("/api/loop.mid?") and httpx.get(server + midi).status_code == 200
    presets = [o for o in page.eval_on_selector_all("#preset option", "os => os.map(o => o.value)")]
    page.select_option("#preset", presets[-1])  # a preset for the picture (the last one)
    _wait_renders(page, 3)
    shot = tmp_path / "audition.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get(SCREENSHOT_DIR):
        shutil.copy(shot, Path(os.environ[SCREENSHOT_DIR]) / "audition.png")
    assert log.console_errors == [] and log.page_errors == []
    assert log.requests and all(url.startswith(server + "/") for url in log.requests)


def test_sample_from_a_pack_sets_the_sliders(server, open_page):
    page, log = open_page(server + "/")
    _wait_renders(page, 1)
    assert page.is_visible("#sample")
    page.select_option("#pack", "steady")
    page.click("#sample")
    _wait_renders(page, 2)
    drawn = httpx.get(f"{server}/api/sample", params={"pack": "steady", "seed": 0, "index": 0})
    drawn = drawn.json()
    for k in KNOBS:
        assert float(page.locator(f"#knob-{k.name}").input_value()) == pytest.approx(
            drawn["theta"][k.name],
            abs=k.high - k.low,  # a range input snaps to its step
        )
        assert page.evaluate(f"window.audition.state.theta[{k.name!r}]") == pytest.approx(
            drawn["theta"][k.name]
        )
    assert page.input_value("#seed") == drawn["seed"]
    assert "loop_000" in page.inner_text("#status")
    assert log.console_errors == [] and log.page_errors == []


def test_the_page_without_a_fit_has_no_pack_menu(bare_server, open_page):
    page, log = open_page(bare_server + "/")
    _wait_renders(page, 1)
    assert not page.is_visible("#sample")
    page.select_option("#preset", "minimal")
    _wait_renders(page, 2)
    assert log.console_errors == [] and log.page_errors == []


def test_sample_the_pack_s_own_loops_from_the_page(server, open_page):
    page, log = open_page(server + "/")
    _wait_renders(page, 1)
    page.select_option("#pack", "steady")
    page.select_option("#knob-source", "loops")
    page.click("#sample")
    _wait_renders(page, 2)
    query = {"pack": "steady", "seed": 0, "index": 0, "knobs": "loops"}
    drawn = httpx.get(f"{server}/api/sample", params=query).json()
    for k in KNOBS:
        assert page.evaluate(f"window.audition.state.theta[{k.name!r}]") == pytest.approx(
            drawn["theta"][k.name]
        )
    assert "--knobs loops" in page.inner_text("#status")
    assert log.console_errors == [] and log.page_errors == []
