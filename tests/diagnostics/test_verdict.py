"""The misspecification verdict: bounded tail probabilities, calibrated p-values, aspects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from technorhythm.diagnostics.verdict import (
    VerdictCalibration,
    aspect_of,
    run_verdict,
    tail_probabilities,
)
from technorhythm.summaries import SUMMARY_NAMES

NAMES = list(SUMMARY_NAMES)


def test_tail_probabilities_are_bounded_and_symmetric():
    ref = np.arange(9, dtype=float)[:, None]  # 0..8
    p = tail_probabilities(np.array([[4.0], [-100.0], [100.0], [0.0]]), ref)[:, 0]
    assert p[0] == pytest.approx(1.0)  # the median
    assert p[1] == p[2] == pytest.approx(1 / 10)  # outside: never below 1/(P+1)
    assert p[3] == pytest.approx(2 * 1.0 / 10)  # ties count half
    const = np.zeros((20, 1))
    assert tail_probabilities(np.array([[0.0]]), const)[0, 0] == 1.0  # constant and equal
    assert tail_probabilities(np.array([[1e-9]]), const)[0, 0] == pytest.approx(1 / 21)


def _toy(rng, p: int, shift: float = 0.0):
    cov = 0.5 * np.eye(len(NAMES)) + 0.5  # strongly correlated summaries
    chol = np.linalg.cholesky(cov)
    pred = rng.standard_normal((p, len(NAMES))) @ chol.T
    obs = rng.standard_normal(len(NAMES)) @ chol.T + shift
    return obs, pred


def test_false_alarm_rate_is_nominal_when_the_model_is_right():
    rng = np.random.default_rng(0)
    flags = [
        run_verdict(*_toy(rng, 60), summary_names=NAMES, alpha=0.05).flagged for _ in range(300)
    ]
    rate = np.mean(flags)
    assert 0.02 <= rate <= 0.09  # 5% ± binomial noise over 300 repeats


def test_a_shifted_set_is_flagged_and_graded_by_aspect():
    rng = np.random.default_rng(1)
    obs, pred = _toy(rng, 100)
    velocity = np.array([aspect_of(n) == "velocity" for n in NAMES])
    obs = obs.copy()
    obs[velocity] += 6.0  # only the velocity summaries are off
    v = run_verdict(obs, pred, summary_names=NAMES)
    assert v.flagged and v.p_value < 0.02
    aspects = v.aspects.set_index("aspect")
    assert aspects.loc["velocity", "p_value"] < 0.02
    assert aspects.loc["velocity", "n_outside"] == velocity.sum()
    # the other aspects: at most a fifth of their summaries outside by chance (they are
    # strongly correlated in this toy, so chance exceedances come in small clusters)
    others = aspects.drop(index="velocity")
    sizes = pd.Series([aspect_of(n) for n in NAMES]).value_counts()
    assert (others["n_outside"] <= 0.2 * sizes[others.index]).all()
    assert all(aspect_of(n) == "velocity" for n, _ in v.worst(3))


def test_constant_summaries_never_blow_up():
    """A summary constant in the predictive (no cymbal ever) and in the observation."""
    rng = np.random.default_rng(2)
    obs, pred = _toy(rng, 50)
    cymbal = [i for i, n in enumerate(NAMES) if aspect_of(n) == "cymbal"]
    pred[:, cymbal] = 0.0
    obs[cymbal] = 0.0
    v = run_verdict(obs, pred, summary_names=NAMES)
    assert (v.summaries.set_index("summary").loc[[NAMES[i] for i in cymbal], "tail_p"] == 1).all()
    assert not v.flagged


def test_aspects_cover_every_summary_and_errors_are_named():
    assert {aspect_of(n) for n in NAMES} <= {
        "kick", "snare", "hats", "cymbal", "velocity", "timing", "bars", "coupling"
    }  # fmt: skip
    with pytest.raises(ValueError, match="no aspect"):
        aspect_of("tom_density")
    with pytest.raises(ValueError, match="at least 20"):
        run_verdict(np.zeros(len(NAMES)), np.zeros((5, len(NAMES))), summary_names=NAMES)


def test_calibration_makes_a_conservative_p_value_uniform():
    rng = np.random.default_rng(3)
    null = rng.uniform(0.3, 1.0, 400)  # a conservative raw p-value: never below 0.3
    cal = VerdictCalibration((16,), (null,))
    fresh = rng.uniform(0.3, 1.0, 2000)
    calibrated = np.array([cal.calibrate(p, 16) for p in fresh])
    assert np.mean(fresh < 0.05) == 0  # raw: no false alarm, and no power either
    assert 0.03 < np.mean(calibrated < 0.05) < 0.07  # calibrated: the nominal rate
    assert cal.calibrate(0.0, 16) == pytest.approx(1 / 401)


def test_calibration_picks_the_nearest_size_and_round_trips():
    low = np.full(50, 0.9)
    high = np.linspace(0, 1, 50)
    cal = VerdictCalibration((256, 1), (high, low))  # any order
    assert cal.sizes == (1, 256)
    assert cal.calibrate(0.5, 2) == pytest.approx(1 / 51)  # N = 2 uses the N = 1 sample
    assert cal.calibrate(0.5, 100) == pytest.approx((1 + 25) / 51)
    again = VerdictCalibration.from_dict(cal.to_dict())
    assert again.calibrate(0.5, 100) == cal.calibrate(0.5, 100)
    with pytest.raises(ValueError, match="verdict calibration"):
        VerdictCalibration.from_dict({"kind": "other"})
    with pytest.raises(ValueError, match="at least 20"):
        VerdictCalibration((1,), (np.zeros(5),))


def test_run_verdict_applies_the_calibration():
    rng = np.random.default_rng(4)
    obs, pred = _toy(rng, 50)
    raw = run_verdict(obs, pred, summary_names=NAMES)
    strict = VerdictCalibration((50,), (np.full(30, 1.0),))  # every null set had p = 1
    v = run_verdict(obs, pred, summary_names=NAMES, calibration=strict, n_real=50)
    assert v.calibrated and not raw.calibrated and v.p_raw == raw.p_value
    assert v.p_value == pytest.approx(1 / 31 if raw.p_value < 1 else 1.0)
    assert v.as_row()["verdict_p_raw"] == raw.p_value
