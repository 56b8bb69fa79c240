"""``technorhythm train`` end to end with a tiny budget on the real simulator and summaries."""

from __future__ import annotations

import json

import numpy as np
import pytest

from technorhythm.cli import main
from technorhythm.inference import PopulationEstimator
from technorhythm.inference.affine_head import has_affine_head
from technorhythm.inference.set_summaries import loop_features, observe_population
from technorhythm.simulator import simulate
from technorhythm.simulator.knobs import KNOB_NAMES, KNOBS


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    args = ["train", "--budget", "120", "--n-max", "16", "--seed", "3", "--max-epochs", "2"]
    args += ["--hidden-features", "8", "--num-transforms", "1", "--quiet", "--force"]
    args += ["--loop-hidden-features", "8", "--loop-transforms", "1", "--loop-max-epochs", "2"]
    args += ["--threads", "2", "--anneal-epochs", "1", "--anneal-factor", "0.5"]
    args += ["--affine-head"]
    with pytest.warns(UserWarning, match="not yet fully converged"):
        assert main([*args, "--out", str(out)]) == 0
    return out


def test_train_writes_model_manifest_and_plot(model_dir):
    assert {p.name for p in model_dir.iterdir()} == {
        "pack.pt",
        "loop.pt",
        "manifest.json",
        "training_loss.png",
    }
    manifest = json.loads((model_dir / "manifest.json").read_text())
    ref = manifest["data_reference"]
    assert ref["plan"]["n_sets"] == 120 and ref["plan"]["seed"] == 3
    assert ref["plan"]["n_range"] == [1, 16]
    assert ref["command"].startswith("technorhythm train --budget 120 --seed 3 --n-min 1")
    assert "--loop-transforms 1" in ref["command"]
    # trained with two threads, recorded in the command; the saved model samples with one
    assert "--threads 2" in ref["command"] and ref["training_threads"] == 2
    assert manifest["config"]["torch_threads"] == 1
    # the annealing phase: recorded in the command, the saved configuration and the history
    assert "--anneal-epochs 1 --anneal-factor 0.5" in ref["command"]
    assert manifest["config"]["pack"]["anneal_epochs"] == 1
    # the affine head: in the command, the saved configuration and the loaded network
    assert "--affine-head" in ref["command"] and manifest["config"]["pack"]["affine_head"]
    est = PopulationEstimator.load(model_dir)
    assert est.pack_.torch_threads == 1 and est.loop_.torch_threads == 1
    assert all(has_affine_head(m.network_) for m in est.pack_.members)
    assert manifest["n_sets"] == 120 and manifest["n_loops"] > 120
    assert manifest["population"]["knob_names"] == list(KNOB_NAMES)


def test_trained_model_samples_within_the_boxes(model_dir):
    est = PopulationEstimator.load(model_dir)
    clips = simulate({}, 8, seed=1)
    x = observe_population(clips, n_max=16)
    psi = est.sample_hyper(x, 300, seed=0)
    assert psi.shape == (300, 1, 2 * len(KNOBS))
    box = est.hyper_bounds
    assert np.all(psi >= box[:, 0]) and np.all(psi <= box[:, 1])
    np.testing.assert_array_equal(psi, est.sample_hyper(x, 300, seed=0))
    loops = est.sample_loops(loop_features(clips), psi[:, 0], seed=1)
    assert loops.shape == (300, 8, len(KNOBS))
    lows = np.array([k.low for k in KNOBS])
    highs = np.array([k.high for k in KNOBS])
    assert np.all(loops >= lows) and np.all(loops <= highs)


def test_train_refuses_to_overwrite(model_dir, capsys):
    code = main(["train", "--budget", "5", "--out", str(model_dir), "--quiet"])
    assert code == 2
    assert "already holds a model; pass --force" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value"),
    [("--anneal-factor", "0"), ("--anneal-factor", "1.5"), ("--anneal-epochs", "-1")],
)
def test_bad_annealing_options_are_refused(tmp_path, capsys, option, value):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--budget", "5", "--out", str(tmp_path / "m"), option, value])
    assert exit_.value.code == 2
    assert f"argument {option}" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
