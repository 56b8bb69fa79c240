"""save/load: state_dict + manifest, identical sampling after loading, refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from toy_model import TOY_BOUNDS, TOY_NAMES, toy_training_set

from technorhythm.inference import (
    ModelError,
    ModelIntegrityError,
    ModelVersionError,
    PosteriorEstimator,
)
from technorhythm.inference.persistence import MANIFEST_NAME, WEIGHTS_NAME, sha256_file

X_OBS = np.array([0.5, -1.0, 0.2])


@pytest.fixture(scope="module", params=[True, False], ids=["unconstrained", "bounded"])
def trained(request) -> PosteriorEstimator:
    theta, x = toy_training_set(400, seed=2)
    est = PosteriorEstimator(
        hidden_features=16,
        num_transforms=2,
        max_num_epochs=4,
        unconstrained=request.param,
        bounds=TOY_BOUNDS,
        names=TOY_NAMES,
        seed=4,
    )
    with pytest.warns(UserWarning, match="not yet fully converged"):
        est.fit(theta, x, data_reference={"budget": 400, "command": "pytest toy"})
    return est


def test_round_trip_samples_identically(trained, tmp_path, fixed_versions):
    trained.save(tmp_path / "model")
    loaded = PosteriorEstimator.load(tmp_path / "model")
    np.testing.assert_array_equal(
        loaded.sample(X_OBS, 200, seed=3), trained.sample(X_OBS, 200, seed=3)
    )
    theta = np.array([[0.0, 0.0], [1.0, -2.0]])
    np.testing.assert_allclose(
        loaded.log_prob(theta, X_OBS, seed=1), trained.log_prob(theta, X_OBS, seed=1), rtol=1e-6
    )
    assert loaded.get_params() == trained.get_params()
    assert loaded.training_history_ == trained.training_history_
    assert loaded.data_reference_ == {"budget": 400, "command": "pytest toy"}


def test_manifest_records_everything(trained, tmp_path, fixed_versions):
    trained.save(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text())
    assert manifest["schema_version"] == 1
    assert manifest["theta"]["names"] == list(TOY_NAMES)
    assert manifest["theta"]["bounds"] == TOY_BOUNDS.tolist()
    assert manifest["x_dim"] == 3
    assert manifest["versions"]["version_hash"] == fixed_versions["version_hash"]
    assert manifest["weights"]["sha256"] == sha256_file(tmp_path / WEIGHTS_NAME)
    assert manifest["training"]["n_simulations"] == 400
    assert manifest["training"]["seed"] == 4
    assert manifest["software"]["sbi"] and manifest["software"]["torch"]
    # The weights file holds tensors only.
    state = torch.load(tmp_path / WEIGHTS_NAME, weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())


def test_refuses_tampered_weights(trained, tmp_path, fixed_versions):
    trained.save(tmp_path)
    state = torch.load(tmp_path / WEIGHTS_NAME, weights_only=True)
    key = next(iter(k for k, v in state.items() if v.is_floating_point()))
    state[key] = state[key] + 0.01
    torch.save(state, tmp_path / WEIGHTS_NAME)
    with pytest.raises(ModelIntegrityError, match="does not match the SHA-256"):
        PosteriorEstimator.load(tmp_path)


def test_refuses_other_simulator_version(trained, tmp_path, fixed_versions):
    trained.save(tmp_path)
    fixed_versions["simulator_version"] = "2"
    fixed_versions["version_hash"] = "w" * 16
    with pytest.raises(
        ModelVersionError,
        match=r"(?s)simulator_version: model 'toy-1', "
        r"installed '2'.*Retrain it with:\n  pytest toy",
    ):
        PosteriorEstimator.load(tmp_path)


def test_refuses_missing_or_foreign_directories(tmp_path, fixed_versions):
    with pytest.raises(ModelError, match="does not exist"):
        PosteriorEstimator.load(tmp_path / "nope")
    with pytest.raises(ModelError, match="manifest.json is missing"):
        PosteriorEstimator.load(tmp_path)
    (tmp_path / MANIFEST_NAME).write_text('{"format": "something else"}')
    with pytest.raises(ModelError, match="not a technorhythm posterior-estimator manifest"):
        PosteriorEstimator.load(tmp_path)


def test_save_does_not_clobber(trained, tmp_path, fixed_versions):
    trained.save(tmp_path)
    with pytest.raises(FileExistsError, match="already holds a model"):
        trained.save(tmp_path)
    trained.save(tmp_path, overwrite=True)


def test_untrained_cannot_be_saved(tmp_path):
    with pytest.raises(ModelError, match="only a trained"):
        PosteriorEstimator(bounds=TOY_BOUNDS).save(tmp_path)
