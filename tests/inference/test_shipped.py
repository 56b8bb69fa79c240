"""The shipped population model: present, small, in step with the installed code, and sensible.

Until the one retrain on the current simulator, the shipped folder may still hold a one-θ
model from before the population model; ``load_shipped`` must then refuse it with the
command that trains the population model, and the model tests skip, saying so.
"""

from __future__ import annotations

import numpy as np
import pytest

from technorhythm.inference import current_versions
from technorhythm.inference.packaged import (
    SHIPPED_DIR,
    SHIPPED_RETRAIN_COMMAND,
    load_shipped,
    shipped_is_population,
)
from technorhythm.inference.persistence import ModelError
from technorhythm.inference.population_io import read_population_manifest
from technorhythm.inference.set_summaries import observe_population
from technorhythm.inference.version import diff_versions
from technorhythm.simulator import simulate
from technorhythm.simulator.knobs import KNOB_NAMES, KNOBS

needs_population = pytest.mark.skipif(
    not shipped_is_population(),
    reason=(
        "the shipped model predates the population model; it is retrained once with "
        f"`{SHIPPED_RETRAIN_COMMAND}`"
    ),
)


def test_a_one_theta_shipped_model_is_refused_with_the_retrain_command():
    if shipped_is_population():
        pytest.skip("the shipped model is a population model")
    with pytest.raises(ModelError, match="technorhythm train --budget"):
        load_shipped()


@needs_population
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


@needs_population
def test_retrain_command_reproduces_the_recorded_settings():
    recorded = read_population_manifest(SHIPPED_DIR)["data_reference"]["command"].split()
    command = SHIPPED_RETRAIN_COMMAND.split()
    for extra in ("--workers", "--plot"):  # options that do not change the model
        i = command.index(extra)
        del command[i : i + 2]
    command.remove("--force")
    assert sorted(command) == sorted(recorded)


@needs_population
def test_shipped_model_is_small_and_complete():
    files = {p.name: p.stat().st_size for p in SHIPPED_DIR.iterdir() if p.is_file()}
    assert {"pack.pt", "loop.pt", "manifest.json"} <= set(files)
    assert sum(files.values()) <= 10 * 2**20


@needs_population
def test_shipped_posterior_finds_a_preset_pack_and_its_bounds():
    # 256 loops from one θ with ride and crash at 0: the clear knobs are found, the
    # bounds are inside the loops' 94% range, and the spread is small.
    est = load_shipped()
    truth = {k.name: k.default for k in KNOBS}
    truth.update(kick_pulses=4.0, hat_8ths=0.8, intensity=0.6, humanize_ms=10.0)
    truth.update(ride=0.0, crash=0.0)
    x = observe_population(simulate(truth, 256, seed=12345, start_index=10**9))
    psi = est.sample_hyper(x, 2000, seed=0)[:, 0]
    mean = est.population.mean(psi)
    names = list(KNOB_NAMES)
    for name in ("kick_pulses", "hat_8ths", "intensity", "humanize_ms"):
        col = mean[:, names.index(name)]
        lo, hi = np.quantile(col, [0.005, 0.995])
        width = next(k.high - k.low for k in KNOBS if k.name == name)
        assert lo <= truth[name] <= hi, f"{name}: {truth[name]} outside 99% interval [{lo}, {hi}]"
        assert hi - lo < 0.25 * width
    for name in ("ride", "crash"):
        col = mean[:, names.index(name)]
        assert np.quantile(col, 0.03) <= 1e-3, f"{name}: the bound 0 is outside the 94% range"
