"""Walk the knob registry: every knob is complete, validated and documented."""

import numpy as np
import pytest

from technorhythm.simulator.knobs import (
    KNOB_NAMES,
    KNOBS,
    KnobError,
    default_theta,
    get_knob,
    knob_table,
    registry_hash,
    theta_to_array,
    theta_to_dict,
    validate_theta,
)


@pytest.mark.parametrize("knob", KNOBS, ids=KNOB_NAMES)
def test_every_knob_is_declared_completely(knob):
    assert knob.low < knob.high
    assert knob.low <= knob.default <= knob.high
    assert knob.unit and knob.meaning and knob.effect and knob.label
    assert knob.check(knob.low) == knob.low and knob.check(knob.high) == knob.high
    span = knob.high - knob.low
    for bad in (knob.low - 0.1 * span, knob.high + 0.1 * span, float("nan"), "loud"):
        with pytest.raises(KnobError) as err:
            knob.check(bad)
        message = str(err.value)
        assert knob.name in message and repr(bad) in message
        assert f"[{knob.low}, {knob.high}]" in message
    assert f"`{knob.name}`" in knob_table()


def test_names_are_unique():
    assert len(set(KNOB_NAMES)) == len(KNOB_NAMES) == len(KNOBS)


def test_unknown_and_missing_knobs():
    with pytest.raises(KnobError, match="Unknown knob 'cowbell'"):
        get_knob("cowbell")
    with pytest.raises(KnobError, match="Unknown knob"):
        validate_theta({"cowbell": 1.0}, partial=True)
    with pytest.raises(KnobError, match="Missing knob"):
        validate_theta({"hat_accent": 0.5})
    assert validate_theta({"hat_accent": 0.5}, partial=True)["hat_accent"] == 0.5


def test_array_round_trip():
    theta = default_theta()
    arr = theta_to_array(theta)
    assert arr.shape == (len(KNOBS),)
    assert theta_to_dict(arr) == theta
    assert theta_to_array([theta, theta]).shape == (2, len(KNOBS))
    with pytest.raises(KnobError, match="shape"):
        theta_to_dict(np.zeros(3))


def test_registry_hash_is_stable_hex():
    h = registry_hash()
    assert h == registry_hash() and len(h) == 16
    int(h, 16)


def test_a_retired_knob_says_what_replaced_it():
    with pytest.raises(KnobError, match="'hat_8ths' knob was retired.*hat_offbeats.*hat_beats"):
        validate_theta({"hat_8ths": 0.5}, partial=True)
    with pytest.raises(KnobError, match="'kick_level' knob was retired.*kick_velocity"):
        validate_theta({"kick_level": 1.2}, partial=True)
    with pytest.raises(KnobError, match="'velocity_jitter' knob was retired.*kick_jitter"):
        validate_theta({"velocity_jitter": 3.0}, partial=True)
    with pytest.raises(KnobError) as err:
        get_knob("cowbell")
    assert "retired" not in str(err.value)
