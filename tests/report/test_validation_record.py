"""The validation record of a model folder: round trip, staleness, bad files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from technorhythm.diagnostics import SBCResult, TarpResult
from technorhythm.report import (
    ValidationRecordError,
    ValidationRun,
    load_validation_record,
    save_validation_record,
)


@pytest.fixture
def model_dir(tmp_path):
    (tmp_path / "manifest.json").write_text('{"format": "x"}', encoding="utf-8")
    return tmp_path


def _run(rng, n_clips=16):
    ranks = rng.integers(0, 101, (50, 3))
    sbc = SBCResult(ranks, np.zeros((50, 3)), np.zeros((50, 3)), 100, ("p", "q", "r"), n_clips)
    alpha = np.linspace(0, 1, 11)
    tarp = TarpResult(np.clip(alpha + 0.02, 0, 1), alpha, 50, n_clips)
    hpd = pd.DataFrame({"level": [0.5, 0.9], "coverage": [0.48, 0.91], "ok": [True, True]})
    interval = pd.DataFrame(
        {
            "param": ["p", "q", "r"],
            "coverage": [0.9, 0.88, 0.93],
            "n_near": [3, 0, 5],
            "coverage_near": [1.0, np.nan, 0.8],
            "ok_near": [False, None, False],
        }
    )
    return ValidationRun(f"N = {n_clips}", n_clips, "prior", sbc, tarp, hpd, interval, 0.9)


def test_round_trip(model_dir, rng):
    runs = [_run(rng, 1), _run(rng, 16)]
    path = save_validation_record(model_dir, runs, command="validate --x", headline={"a": 1.5})
    assert path == model_dir / "validation.json"
    record = load_validation_record(model_dir)
    assert record.matches_model and record.command == "validate --x"
    assert record.headline == {"a": 1.5} and record.parameters == ("p", "q", "r")
    for got, want in zip(record.runs, runs, strict=True):
        assert got.label == want.label and got.n_clips == want.n_clips
        np.testing.assert_array_equal(got.sbc.ranks, want.sbc.ranks)
        assert got.sbc.n_samples == 100 and got.sbc.names == ("p", "q", "r")
        np.testing.assert_allclose(got.tarp.ecp, want.tarp.ecp)
        assert got.tarp.n_sets == 50
        assert got.hpd_coverage["coverage"].tolist() == [0.48, 0.91]
        assert np.isnan(got.interval_coverage["coverage_near"][1])  # NaN survives as null
    assert [r.n_clips for r in record.sbc_results()] == [1, 16]


def test_a_retrained_model_makes_the_record_stale(model_dir, rng):
    save_validation_record(model_dir, [_run(rng)], command="c")
    (model_dir / "manifest.json").write_text('{"format": "y"}', encoding="utf-8")
    assert not load_validation_record(model_dir).matches_model


def test_no_record_is_none_and_bad_ones_are_errors(model_dir, rng):
    assert load_validation_record(model_dir) is None
    path = model_dir / "validation.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValidationRecordError, match="not valid JSON"):
        load_validation_record(model_dir)
    path.write_text(json.dumps({"schema": "other"}), encoding="utf-8")
    with pytest.raises(ValidationRecordError, match="not a technorhythm validation record"):
        load_validation_record(model_dir)
    save_validation_record(model_dir, [_run(rng)], command="c")
    raw = json.loads(path.read_text())
    raw["runs"][0]["sbc"]["ranks"] = [[1, 2]]  # two ranks for three parameters
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ValidationRecordError, match="malformed"):
        load_validation_record(model_dir)


def test_writing_needs_a_model_folder_and_runs(tmp_path, model_dir, rng):
    with pytest.raises(FileNotFoundError, match="not a model folder"):
        save_validation_record(tmp_path / "nothing", [_run(rng)], command="c")
    with pytest.raises(ValueError, match="at least one run"):
        save_validation_record(model_dir, [], command="c")
