"""Checking fits: the oracle's own pack passes, a pack it cannot make is flagged."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from oracle_estimator import OracleEstimator

from technorhythm.clips import ClipBatch
from technorhythm.posteriors import check_fit, fit_groups, load_checks, save_checks, save_fit
from technorhythm.posteriors.check_io import format_checks
from technorhythm.posteriors.checks import split_table
from technorhythm.simulator import simulate
from technorhythm.simulator.knobs import KNOB_NAMES, KNOBS, default_theta

THETA0 = np.array([default_theta()[k] for k in KNOB_NAMES])
THETA1 = np.array([k.low + 0.85 * (k.high - k.low) for k in KNOBS])


@pytest.fixture(scope="module")
def two_packs() -> ClipBatch:
    a = simulate(THETA0, 40, seed=5)
    b = simulate(THETA1, 30, seed=5, start_index=40)
    both = ClipBatch.concat([a, b])
    meta = pd.DataFrame(
        {
            "clip_id": [f"c{i}" for i in range(70)],
            "pack": ["at_theta0"] * 40 + ["elsewhere"] * 30,
            "split": ["train"] * 40 + ["test"] * 30,
        }
    )
    return ClipBatch(both.velocity, both.offset, both.bpm, meta)


@pytest.fixture(scope="module")
def checked(two_packs):
    # 0.5 % of each range: a posterior as sharp as 40 clips make it for the millisecond
    # knobs (2 % of push_ms's 60 ms range would already be visible to the classifier)
    oracle = OracleEstimator(THETA0, width=0.005)
    # the onset knobs the oracle's too: read from the hits, they would fit the other pack
    fit = fit_groups(two_packs, estimator=oracle, by="pack", n_samples=300, onsets="network")
    return fit, check_fit(fit, two_packs, n_verdict_sets=60)


def test_the_oracles_pack_passes_and_the_other_is_flagged(checked):
    _, result = checked
    table = result.table().set_index("group")
    good, bad = table.loc["at_theta0"], table.loc["elsewhere"]
    assert not good.flagged and good.verdict_p > 0.05
    assert bad.flagged and bad.verdict_p < 0.05
    assert good.c2st < 0.7 and bad.c2st > 0.97
    assert good.d_ratio < 2 < 3 < bad.d_ratio  # the oracle is 0.5 % of each range wide
    assert good.closer_than_prior and not bad.closer_than_prior
    # even the exact θ reaches only 0.85-0.88 against 40 clips: their band misses rare bins
    assert good.onset_in_band >= 0.75 > bad.onset_in_band
    assert bad.n_outside > 20 and good.n_outside < 5


def test_checks_do_not_depend_on_other_groups(checked, two_packs):
    fit, result = checked
    oracle = OracleEstimator(THETA0, width=0.005)
    alone = fit_groups(two_packs[40:], estimator=oracle, by="pack", n_samples=300, onsets="network")
    again = check_fit(alone, two_packs[40:], n_verdict_sets=60).table().iloc[0]
    row = result.table().set_index("group").loc["elsewhere"]
    for col in ("c2st", "d_ratio", "onset_in_band", "verdict_p"):
        assert again[col] == pytest.approx(row[col])


def test_adjust_checks_a_changed_predictive(checked, two_packs):
    """``adjust`` sees each group's name, clips and model; a what-if that predicts the pack
    the oracle cannot make from its true θ passes it, and leaves the other group alone."""
    from technorhythm.posteriors.checks import PredictiveModel

    fit, result = checked
    seen = {}

    def truth_for_elsewhere(name, real, model):
        seen[name] = len(real)
        return PredictiveModel(THETA1[None]) if name == "elsewhere" else model

    adjusted = check_fit(fit, two_packs, n_verdict_sets=0, adjust=truth_for_elsewhere)
    table = adjusted.table().set_index("group")
    before = result.table().set_index("group")
    assert seen == {"at_theta0": 40, "elsewhere": 30}
    assert table.loc["elsewhere", "c2st"] < 0.75 < 0.97 < before.loc["elsewhere", "c2st"]
    assert table.loc["at_theta0", "c2st"] == pytest.approx(before.loc["at_theta0", "c2st"])


def test_split_table_reduces_per_split(checked):
    splits = split_table(checked[1].table()).set_index("split")
    assert splits.loc["train", "groups"] == 1 and splits.loc["test", "flagged"] == 1.0
    assert "c2st" in splits and "d_ratio" in splits


def test_check_folder_round_trip_and_fit_folder(checked, two_packs, tmp_path):
    fit, result = checked
    record = save_checks(result, tmp_path / "check")
    names = {p.name for p in (tmp_path / "check").iterdir()}
    assert {"check.json", "check.csv", "splits.csv", "overview.png", "groups"} <= names
    group = tmp_path / "check" / "groups" / "001_elsewhere"
    assert {"check.json", "check.csv", "onsets.png", "distributions.png", "c2st.png"} <= {
        p.name for p in group.iterdir()
    }
    detail = json.loads((group / "check.json").read_text())
    assert detail["verdict"]["flagged"] and len(detail["verdict"]["aspects"]) == 8
    assert {"onset", "velocity", "timing", "bar_repeat"} == set(detail["histograms"])
    rec, table = load_checks(tmp_path / "check")
    assert rec["groups"]["elsewhere"]["flagged"] == record["groups"]["elsewhere"]["flagged"]
    assert table.group.tolist() == ["at_theta0", "elsewhere"]
    text = format_checks(table)
    assert "C2ST" in text and "elsewhere" in text
    # a fit folder is checked from its members and the dataset passed in
    save_fit(fit, tmp_path / "fit", dataset=None, forest=False)
    from_folder = check_fit(tmp_path / "fit", two_packs, n_verdict_sets=60).table()
    pd.testing.assert_series_equal(from_folder.c2st, result.table().c2st)


def test_a_changed_dataset_is_refused(checked, two_packs, tmp_path):
    fit, _ = checked
    save_fit(fit, tmp_path / "fit", forest=False)
    fewer = two_packs[:60]
    with pytest.raises(ValueError, match="dataset changed since the fit"):
        check_fit(tmp_path / "fit", fewer)
    with pytest.raises(ValueError, match="pass the clips"):
        check_fit(tmp_path / "fit")


def test_the_models_verdict_calibration_travels_with_the_fit(two_packs, tmp_path):
    from technorhythm.diagnostics.verdict import VerdictCalibration

    est = OracleEstimator(THETA0)
    strict = VerdictCalibration((40,), (np.full(30, 1.0),))  # every null set had raw p = 1
    est.verdict_calibration_ = strict.to_dict()
    fit = fit_groups(two_packs[:40], estimator=est, by="pack", n_samples=200)
    assert fit.model["verdict_calibration"]["sizes"] == [40]
    row = check_fit(fit, two_packs, n_verdict_sets=30, verdict_only=True).table().iloc[0]
    assert row.verdict_calibrated
    assert row.verdict_p == pytest.approx(1 / 31 if row.verdict_p_raw < 1 else 1.0)
    save_fit(fit, tmp_path / "fit", forest=False)  # and through the fit folder
    again = check_fit(tmp_path / "fit", two_packs, n_verdict_sets=30, verdict_only=True)
    assert again.table().iloc[0].verdict_p == row.verdict_p
