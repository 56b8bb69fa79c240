"""The shipped population model: present, small, in step with the installed code, and sensible.

A package that still holds a one-θ model from before the population model is refused with
the command that trains the population model.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from technorhythm.inference import current_versions, packaged
from technorhythm.inference.packaged import (
    SHIPPED_DIR,
    SHIPPED_RETRAIN_COMMAND,
    load_shipped,
)
from technorhythm.inference.persistence import ModelError
from technorhythm.inference.population_io import read_population_manifest
from technorhythm.inference.set_summaries import observe_population
from technorhythm.inference.version import diff_versions
from technorhythm.simulator import simulate
from technorhythm.simulator.knobs import KNOB_NAMES, KNOBS


def test_a_one_theta_shipped_model_is_refused_with_the_retrain_command(tmp_path, monkeypatch):
    # a package holding the one-θ model of an earlier release
    (tmp_path / "manifest.json").write_text(
        json.dumps({"format": "technorhythm-posterior-estimator"}), encoding="utf-8"
    )
    monkeypatch.setattr(packaged, "SHIPPED_DIR", tmp_path)
    assert not packaged.shipped_is_population()
    with pytest.raises(
        ModelError, match="no shipped population model.*technorhythm train --budget"
    ):
        packaged.load_shipped()


def test_shipped_model_matches_the_installed_prior_simulator_and_summaries():
    manifest = read_population_manifest(SHIPPED_DIR)
    current = current_versions()
    if manifest["versions"]["version_hash"] != current["version_hash"]:
        changes = "\n  ".join(diff_versions(manifest["versions"], current))
        pytest.fail(
            "The shipped population model no longer matches the code:\n  "
            f"{changes}\nRetrain it from the repository root and commit "
            f"src/technorhythm/inference/shipped/:\n  {SHIPPED_RETRAIN_COMMAND}",
            pytrace=False,
        )


def test_retrain_command_reproduces_the_recorded_settings():
    recorded = read_population_manifest(SHIPPED_DIR)["data_reference"]["command"]

    def settings(command: str) -> list[str]:
        # options that do not change the model: where it is written, workers, the plot
        words = command.split()
        for extra in ("--workers", "--plot", "--out"):
            if extra in words:
                i = words.index(extra)
                del words[i : i + 2]
        return sorted(w for w in words if w != "--force")

    assert settings(SHIPPED_RETRAIN_COMMAND) == settings(recorded)
    assert "--budget" in settings(recorded)


def test_shipped_model_is_small_and_complete():
    files = {p.name: p.stat().st_size for p in SHIPPED_DIR.iterdir() if p.is_file()}
    assert {"pack.pt", "loop.pt", "manifest.json"} <= set(files)
    assert sum(files.values()) <= 10 * 2**20


PRESET_CLEAR = ("kick_pulses", "hat_beats", "snare_velocity", "humanize_ms")


@pytest.fixture(scope="module")
def preset_pack_posterior():
    """Posterior of the loops' mean knobs for 256 loops from one θ with ride and crash at 0."""
    est = load_shipped()
    truth = {k.name: k.default for k in KNOBS}
    truth.update(kick_pulses=4.0, hat_beats=0.58, snare_velocity=88.2, humanize_ms=10.0)
    truth.update(ride=0.0, crash=0.0)
    x = observe_population(simulate(truth, 256, seed=12345, start_index=10**9))
    psi = est.sample_hyper(x, 2000, seed=0)[:, 0]
    return truth, est.population.mean(psi)


def test_shipped_posterior_finds_a_preset_pack_and_its_bounds(preset_pack_posterior):
    # the clear knobs are inside their 99% intervals, the bounds inside the 94% range
    truth, mean = preset_pack_posterior
    names = list(KNOB_NAMES)
    for name in PRESET_CLEAR:
        lo, hi = np.quantile(mean[:, names.index(name)], [0.005, 0.995])
        assert lo <= truth[name] <= hi, f"{name}: {truth[name]} outside 99% interval [{lo}, {hi}]"
    for name in ("ride", "crash"):
        col = mean[:, names.index(name)]
        assert np.quantile(col, 0.03) <= 1e-3, f"{name}: the bound 0 is outside the 94% range"


@pytest.mark.xfail(
    strict=True,
    reason="the shipped pack network is weak: for 256 loops of one θ its 99% intervals of "
    "hat_beats, snare_velocity and humanize_ms span 0.37-0.74 of each range, kick_pulses 0.22 "
    "(measured 2026-12-05 on the v9 model; docs/inference.md, 'What fails')",
)
def test_shipped_posterior_pins_down_the_clear_knobs_of_a_big_pack(preset_pack_posterior):
    _, mean = preset_pack_posterior
    names = list(KNOB_NAMES)
    for name in PRESET_CLEAR:
        lo, hi = np.quantile(mean[:, names.index(name)], [0.005, 0.995])
        width = next(k.high - k.low for k in KNOBS if k.name == name)
        assert hi - lo < 0.25 * width, f"{name}: 99% interval {hi - lo:.3g} of a range {width}"


def test_loop_draws_agree_across_thread_counts():
    est = load_shipped()
    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, est.loop_dim_))
    psi = est.sample_hyper(np.zeros((1, est.x_dim_)), 40, seed=0)[:, 0]
    one = est.sample_loops(features, psi, seed=3, threads=1)
    two = est.sample_loops(features, psi, seed=3, threads=2)
    assert one.shape == (40, 60, len(KNOB_NAMES))
    np.testing.assert_allclose(one, two, rtol=0, atol=1e-5 * np.ptp(est.population.bounds))
    np.testing.assert_array_equal(one, est.sample_loops(features, psi, seed=3, threads=1))


def test_loop_draws_of_some_knobs_equal_the_full_draws_in_them():
    est = load_shipped()
    rng = np.random.default_rng(1)
    features = rng.normal(size=(50, est.loop_dim_))
    psi = est.sample_hyper(np.zeros((1, est.x_dim_)), 30, seed=0)[:, 0]
    full = est.sample_loops(features, psi, seed=4)
    last = len(KNOB_NAMES) - 1
    part = est.sample_loops(features, psi, seed=4, columns=np.array([last]))
    assert np.isnan(part[..., :last]).all()  # only the knob asked for is drawn
    width = np.ptp(est.population.bounds[last])
    np.testing.assert_allclose(part[..., last], full[..., last], rtol=0, atol=1e-5 * width)
