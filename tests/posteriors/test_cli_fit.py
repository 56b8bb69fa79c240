"""``technorhythm fit`` end to end on the built-in demo corpus."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from oracle_estimator import OracleEstimator

from technorhythm.cli import main
from technorhythm.simulator.knobs import KNOB_NAMES, default_theta

THETA0 = np.array([default_theta()[k] for k in KNOB_NAMES])


@pytest.fixture(scope="module")
def demo_dataset(tmp_path_factory):
    from technorhythm.corpus import ingest
    from technorhythm.corpus.demo_corpus import render_demo_corpus

    root = tmp_path_factory.mktemp("demo")
    render_demo_corpus(root / "midi")
    ingest(root / "midi", root / "dataset", progress=False)
    return root / "dataset"


@pytest.fixture
def oracle_shipped(monkeypatch):
    """Stand the oracle in for the shipped model (the CLI's default)."""
    from technorhythm.inference import packaged

    est = OracleEstimator(THETA0, n_max=1024)
    monkeypatch.setattr(packaged, "load_shipped", lambda: est)
    return est


def test_fit_by_pack_writes_and_prints(demo_dataset, oracle_shipped, tmp_path, capsys):
    out = tmp_path / "fit"
    code = main(
        [
            "fit",
            str(demo_dataset),
            "--out",
            str(out),
            "--verdict-sets",
            "20",
            "--no-plot",
            "--n-samples",
            "100",
            "--velocities",
            "network",  # every knob the oracle's: θ0, far from the packs
            "--timing",
            "network",
            "--onsets",
            "network",
        ]
    )  # fmt: skip  (the plots are tested with the fit and check folders)
    printed = capsys.readouterr().out
    assert code == 0
    for pack in ("detroit", "industrial", "minimal", "warehouse"):
        assert pack in printed
    assert "range of 90% of loops" in printed and "written to" in printed
    record = json.loads((out / "fit.json").read_text())
    assert record["by"] == "pack" and record["n_groups"] == 4
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 4 * 2 * len(KNOB_NAMES)  # a location and a spread per knob
    loops = pd.read_csv(out / "loops.csv")
    assert len(loops) == record["n_clips"] * len(KNOB_NAMES)
    assert record["n_clips"] == summary.groupby("group").n_clips.first().sum()
    assert len(list((out / "groups").glob("*.nc"))) == 4
    # the checks ran at the end: one row per pack, and their table was printed
    checks = pd.read_csv(out / "check" / "check.csv")
    assert checks.group.tolist() == ["detroit", "industrial", "minimal", "warehouse"]
    assert "posterior predictive checks" in printed and "C2ST" in printed
    # the oracle's θ0 (defaults) is far from the authored packs: every pack is flagged and
    # told apart from its predictive (a C2ST of 0.5 would be indistinguishable)
    assert checks.flagged.all() and (checks.c2st >= 0.85).all()
    # a second run into the same folder must be explicit
    assert main(["fit", str(demo_dataset), "--out", str(out)]) == 2
    assert "already holds a fit; pass --force" in capsys.readouterr().err


def test_fit_all_prints_the_long_table(demo_dataset, oracle_shipped, tmp_path, capsys):
    out = tmp_path / "fit_all"
    assert (
        main(
            [
                "fit",
                str(demo_dataset),
                "--out",
                str(out),
                "--by",
                "all",
                "--no-check",
                "--no-plot",
                "--n-samples",
                "200",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "group 'all':" in printed and "mean 94% HDI" in printed
    assert not (out / "forest.png").exists() and not (out / "check").exists()


def test_fit_errors_are_for_people(demo_dataset, oracle_shipped, tmp_path, capsys):
    assert main(["fit", str(demo_dataset), "--out", str(tmp_path / "a"), "--by", "split"]) == 2
    assert "run `technorhythm split" in capsys.readouterr().err
    assert (
        main(
            [
                "fit",
                str(demo_dataset),
                "--out",
                str(tmp_path / "b"),
                "--model",
                str(tmp_path / "no_model"),
            ]
        )
        == 2
    )
    assert "no_model is not a model directory: manifest.json is missing" in capsys.readouterr().err
    assert main(["fit", str(tmp_path / "nothing"), "--out", str(tmp_path / "c")]) == 2
    assert "dataset" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["fit", str(demo_dataset), "--out", str(tmp_path / "d"), "--n-cap", "0"])


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Maximum number of epochs:UserWarning")
def test_fit_with_a_trained_model(demo_dataset, tmp_path, capsys):
    """A real (tiny) population model saved and loaded through --model."""
    from technorhythm.inference.population_training import train_population

    tiny = {"hidden_features": 8, "num_transforms": 1, "max_num_epochs": 3}
    est = train_population(300, seed=0, n_range=(1, 32), pack=tiny, loop=tiny)
    est.save(tmp_path / "model")
    out = tmp_path / "fit"
    assert (
        main(
            [
                "fit",
                str(demo_dataset),
                "--out",
                str(out),
                "--model",
                str(tmp_path / "model"),
                "--verdict-sets",
                "20",
                "--n-samples",
                "200",
            ]
        )
        == 0
    )
    record = json.loads((out / "fit.json").read_text())
    assert record["model"]["n_simulations"] == 300 and record["model"]["model_hash"] != "unsaved"
    summary = pd.read_csv(out / "summary.csv")
    lo, hi = summary["hdi_3%"], summary["hdi_97%"]
    inside = (lo <= summary["mean"]) & (summary["mean"] <= hi)
    # a spread drawn exactly 0 in most draws (a pack whose loops share a level) has a
    # zero-width HDI and its mean just above it; a block knob whose draws pile up (a velocity
    # level where the bootstrap's weighted median jumps to a minority of the pack's loops in
    # a few draws, a spread at its cap) has an HDI far narrower than its sd, and the few far
    # draws take the mean outside it
    atom = (hi == lo) & (summary["param"] == "spread")
    pile = (hi - lo) < summary["sd"]
    assert (inside | atom | pile).all() and inside.mean() > 0.95


def test_fit_reads_the_velocities_as_asked(demo_dataset, oracle_shipped, tmp_path):
    from technorhythm.cli import build_parser
    from technorhythm.posteriors.fit import VELOCITY_CHOICES

    fit_parser = build_parser()._subparsers._group_actions[0].choices["fit"]
    for dest in ("velocities", "timing", "onsets"):
        action = next(a for a in fit_parser._actions if a.dest == dest)
        assert tuple(action.choices) == VELOCITY_CHOICES and action.default == "likelihood"
    levels = {}
    for how in VELOCITY_CHOICES:
        out = tmp_path / how
        args = ["fit", str(demo_dataset), "--out", str(out), "--no-check", "--no-plot"]
        assert main([*args, "--velocities", how, "--n-samples", "50"]) == 0
        assert json.loads((out / "fit.json").read_text())["options"]["velocities"] == how
        summary = pd.read_csv(out / "summary.csv")
        pick = (summary.group == "warehouse") & (summary.knob == "kick_velocity")
        row = summary[pick & (summary.param == "loc")]
        levels[how] = float(row["mean"].iloc[0])
    # every warehouse kick plays 120: the hits say so, the oracle says the default (110.25)
    assert levels["likelihood"] == pytest.approx(120, abs=1)
    assert levels["network"] == pytest.approx(THETA0[KNOB_NAMES.index("kick_velocity")], abs=5)
