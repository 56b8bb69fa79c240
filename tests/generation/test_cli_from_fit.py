"""``technorhythm generate --from-fit`` and ``technorhythm listening`` from the command line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from technorhythm.cli import main


def _generate(fit_dir, out, *extra):
    return main(
        ["generate", "--from-fit", str(fit_dir), "--group", "steady", "--out", str(out), *extra]
    )


def test_generate_from_a_fit(fit_dir, tmp_path, capsys):
    assert _generate(fit_dir, tmp_path / "a", "--n", "3", "--seed", "4", "--wav") == 0
    assert _generate(fit_dir, tmp_path / "b", "--n", "3", "--seed", "4", "--wav") == 0
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert len(files) == 8 and "theta.csv" in files and "index.json" in files
    for name in files:
        if name != "index.json":  # the command names its own --out
            assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    index = json.loads((tmp_path / "a" / "index.json").read_text())
    assert index["command"] == (
        f"technorhythm generate --from-fit {fit_dir} --group steady --n 3 --seed 4 --spread 1 "
        f"--bars 4 --bpm from-pack --out {tmp_path / 'a'} --wav"
    )
    err = capsys.readouterr().err
    assert "group 'steady'" in err and "knobs over the loops" in err


def test_spread_zero_and_held_knobs(fit_dir, tmp_path):
    code = _generate(
        fit_dir,
        tmp_path,
        "--n",
        "4",
        "--spread",
        "0",
        "--set",
        "snare_velocity=54.25",
        "--bpm",
        "130",
    )
    assert code == 0
    table = pd.read_csv(tmp_path / "theta.csv")
    assert (table["snare_velocity"] == 54.25).all() and (table["bpm"] == 130).all()
    knobs = table.drop(columns=["loop", "bpm", "seed", "snare_velocity"])
    assert (knobs.nunique() == 1).all()  # every loop at the posterior mean setting


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--wav", "x.wav"], "--wav takes no file name"),
        (["--group", "nope"], "no group 'nope'; its groups are: edge, steady, all"),
        (["--spread", "-1"], "spread must be"),
        (["--bpm", "fast"], "--bpm expects a number or 'from-pack'"),
        (["--set", "cowbell=1"], "Unknown knob 'cowbell'"),
    ],
)
def test_generate_errors_name_the_problem(fit_dir, tmp_path, capsys, args, message):
    argv = ["generate", "--from-fit", str(fit_dir), "--out", str(tmp_path / "o")]
    if "--group" not in args:
        argv += ["--group", "steady"]
    assert main([*argv, *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o" / "index.json").exists()


def test_generate_needs_a_group_when_the_fit_has_several(fit_dir, tmp_path, capsys):
    assert main(["generate", "--from-fit", str(fit_dir), "--out", str(tmp_path)]) == 2
    assert "choose one with --group" in capsys.readouterr().err


def test_options_of_a_fit_need_a_fit(tmp_path, capsys):
    assert main(["generate", "--spread", "2", "--out", str(tmp_path / "x.mid")]) == 2
    assert "--spread needs --from-fit" in capsys.readouterr().err
    assert main(["generate", "--bpm", "from-pack", "--out", str(tmp_path / "x.mid")]) == 2
    assert "from-pack needs --from-fit" in capsys.readouterr().err
    assert main(["generate", "--knobs", "loops", "--out", str(tmp_path / "x.mid")]) == 2
    assert "--knobs needs --from-fit" in capsys.readouterr().err


def test_knobs_from_the_pack_s_own_loops(fit_dir, tmp_path, capsys):
    from technorhythm.generation import load_pack

    assert _generate(fit_dir, tmp_path / "o", "--n", "5", "--seed", "2", "--knobs", "loops") == 0
    index = json.loads((tmp_path / "o" / "index.json").read_text())
    assert index["knob_source"] == "loops" and "own loops" in index["sampler"]
    assert "--spread 1 --knobs loops --bars 4" in index["command"]
    assert "knobs from the pack's own loops" in capsys.readouterr().err
    table = pd.read_csv(tmp_path / "o" / "theta.csv")
    draws = load_pack(fit_dir, "steady").loop_draws()
    rows = draws.reshape(-1, draws.shape[-1])
    knobs = table.drop(columns=["loop", "bpm", "seed"]).to_numpy()
    for theta in knobs:  # every loop's knobs are one posterior draw of one real loop
        assert np.isclose(rows, theta, rtol=1e-5, atol=1e-6).all(axis=1).any()  # theta.csv: %.6g


def test_a_fit_from_another_registry_is_refused(fit_dir, tmp_path, capsys):
    import shutil

    from technorhythm.posteriors import load_inference_data, save_inference_data

    copy = tmp_path / "fit"
    shutil.copytree(fit_dir, copy)
    idata = load_inference_data(copy / "posterior.nc")
    knobs = json.loads(idata.posterior.attrs["knobs"])
    idata.posterior.attrs["knobs"] = json.dumps(knobs[::-1])
    save_inference_data(idata, copy / "posterior.nc")
    assert main(["generate", "--from-fit", str(copy), "--group", "steady", "--out", "x"]) == 2
    assert "fit the dataset again" in capsys.readouterr().err


def test_a_fit_for_another_simulator_is_refused(fit_dir, tmp_path, capsys):
    import shutil

    copy = tmp_path / "fit"
    shutil.copytree(fit_dir, copy)
    record = json.loads((copy / "fit.json").read_text())
    record["model"]["version_hash"] = "0123456789abcdef"
    (copy / "fit.json").write_text(json.dumps(record))
    assert main(["generate", "--from-fit", str(copy), "--group", "steady", "--out", "x"]) == 2
    assert "its loops would come from a different simulator" in capsys.readouterr().err


def test_listening_command(fit_dir, tmp_path, capsys):
    out = tmp_path / "test"
    argv = ["listening", str(fit_dir), "--group", "edge", "--out", str(out), "--items", "2"]
    assert main([*argv, "--max-ablated", "1"]) == 0
    assert "mushra.html" in capsys.readouterr().out
    record = json.loads((out / "listening.json").read_text())
    assert record["trials"] == 2 and record["items_per_trial"] == 5
    assert len(record["ablated_knobs"]) == 1
    assert main(argv) == 2
    assert "--force" in capsys.readouterr().err


def test_output_problems_are_found_before_any_work(fit_dir, tmp_path, capsys, hold_lock):
    (tmp_path / "file").write_text("x")
    base = ["generate", "--from-fit", str(fit_dir), "--group", "steady", "--out"]
    assert main([*base, str(tmp_path / "file")]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert main(["listening", str(fit_dir), "--group", "steady", "--out", str(tmp_path / "file")])
    assert "exists and is not a folder" in capsys.readouterr().err
    holder = hold_lock(tmp_path / "busy")
    assert main([*base, str(tmp_path / "busy"), "--n", "1", "--bpm", "120"]) == 2
    err = capsys.readouterr().err
    assert f"is being written by pid {holder}" in err and "Traceback" not in err
    assert not (tmp_path / "busy").exists()
