"""The shipped estimator: present, small, in step with the installed code, and sensible."""

from __future__ import annotations

import numpy as np
import pytest

from technorhythm.inference import current_versions, observe
from technorhythm.inference.packaged import SHIPPED_DIR, SHIPPED_RETRAIN_COMMAND, load_shipped
from technorhythm.inference.persistence import read_manifest
from technorhythm.inference.version import diff_versions
from technorhythm.simulator import simulate
from technorhythm.simulator.knobs import KNOBS, get_knob

RETRAIN_PENDING = pytest.mark.xfail(
    strict=True, reason="retrained after the simulator v2 and population model merge"
)


@RETRAIN_PENDING
def test_shipped_model_matches_the_installed_prior_simulator_and_summaries():
    manifest = read_manifest(SHIPPED_DIR)
    current = current_versions()
    if manifest["versions"]["version_hash"] != current["version_hash"]:
        changes = "\n  ".join(diff_versions(manifest["versions"], current))
        pytest.fail(
            "The shipped posterior estimator no longer matches the code:\n  "
            f"{changes}\nRetrain it (about 15 minutes on 2 cores) from the repository root and "
            f"commit src/technorhythm/inference/shipped/:\n  {SHIPPED_RETRAIN_COMMAND}",
            pytrace=False,
        )


def test_retrain_command_reproduces_the_recorded_settings():
    recorded = read_manifest(SHIPPED_DIR)["data_reference"]["command"].split()
    command = SHIPPED_RETRAIN_COMMAND.split()
    for extra in ("--workers", "--plot"):  # options that do not change the model
        i = command.index(extra)
        del command[i : i + 2]
    command.remove("--force")
    assert sorted(command) == sorted(recorded)


def test_shipped_model_is_small_and_complete():
    files = {p.name: p.stat().st_size for p in SHIPPED_DIR.iterdir() if p.is_file()}
    assert {"model.pt", "manifest.json"} <= set(files)
    assert sum(files.values()) <= 10 * 2**20


@pytest.fixture(scope="module")
def shipped():
    return load_shipped()


@RETRAIN_PENDING
def test_shipped_posterior_recovers_clear_knobs(shipped):
    # 256 clips from one θ: the knobs with a direct, monotone summary must be recovered.
    truth = {k.name: k.default for k in KNOBS}
    truth.update(kick_pulses=4.0, hat_8ths=0.8, intensity=0.6, humanize_ms=10.0)
    x = observe(simulate(truth, 256, seed=12345, start_index=10**9))
    samples = shipped.sample(x, 2000, seed=0)
    lows = np.array([k.low for k in KNOBS])
    highs = np.array([k.high for k in KNOBS])
    assert np.all(samples >= lows) and np.all(samples <= highs)
    names = [k.name for k in KNOBS]
    for name in ("kick_pulses", "hat_8ths", "intensity", "humanize_ms"):
        col = samples[:, names.index(name)]
        lo, hi = np.quantile(col, [0.005, 0.995])
        width = get_knob(name).high - get_knob(name).low
        assert lo <= truth[name] <= hi, f"{name}: {truth[name]} outside 99% interval [{lo}, {hi}]"
        assert hi - lo < 0.5 * width, (
            f"{name}: 99% interval [{lo}, {hi}] barely narrower than prior"
        )
