"""Shipped presets are complete and valid against the registry; θ files load and fail clearly."""

import json

import pytest

from technorhythm.simulator.knobs import KNOB_NAMES, default_theta, get_knob
from technorhythm.simulator.preset_io import (
    PRESET_SCHEMA,
    PresetError,
    _read_preset,
    list_presets,
    load_preset,
    load_theta_file,
    preset_description,
    save_theta_file,
)


def test_required_presets_are_shipped():
    assert {"default", "minimal", "peak-time", "broken-electro"} <= set(list_presets())


@pytest.mark.parametrize("name", list_presets())
def test_preset_sets_every_knob_within_bounds(name):
    doc = _read_preset(name)
    assert doc["schema"] == PRESET_SCHEMA and doc["name"] == name
    assert list(doc["theta"]) == list(KNOB_NAMES)  # complete, in registry order
    theta = load_preset(name)
    for knob, value in theta.items():
        assert get_knob(knob).low <= value <= get_knob(knob).high
    assert len(preset_description(name)) > 20


def test_default_preset_is_the_registry_default():
    assert load_preset("default") == default_theta()


def test_presets_differ_where_their_descriptions_say():
    minimal, peak = load_preset("minimal"), load_preset("peak-time")
    electro = load_preset("broken-electro")
    live = load_preset("live-kit")
    assert peak["snare_velocity"] > minimal["snare_velocity"]
    assert peak["hat_16ths"] > minimal["hat_16ths"]
    assert electro["kick_extra"] > minimal["kick_extra"]
    assert electro["kick_pulses"] < minimal["kick_pulses"]
    assert minimal["ride"] == minimal["crash"] == 0.0  # "no cymbals"
    assert live["kick_velocity"] < live["hat_velocity"]  # a drummer's hats over the kick
    assert minimal["kick_velocity"] > minimal["hat_velocity"]
    assert live["variation"] > 0.5 > minimal["variation"]


def test_unknown_preset_lists_the_available_ones():
    with pytest.raises(PresetError, match="Unknown preset 'trance'.*default"):
        load_preset("trance")


def test_theta_files(tmp_path):
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"swing_16": 0.2}))
    theta = load_theta_file(bare)
    assert theta["swing_16"] == 0.2 and theta["hat_accent"] == default_theta()["hat_accent"]

    saved = tmp_path / "saved.json"
    save_theta_file(load_preset("minimal"), saved, description="copy")
    assert load_theta_file(saved) == load_preset("minimal")

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"theta": {"open_hat": 2.0}}))
    with pytest.raises(PresetError, match=r"bad.json.*'open_hat' knob must be in \[0.0, 1.0\]"):
        load_theta_file(bad)
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(PresetError, match="cannot read"):
        load_theta_file(tmp_path / "broken.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(PresetError, match="JSON object"):
        load_theta_file(tmp_path / "list.json")
    with pytest.raises(PresetError, match="not found"):
        load_theta_file(tmp_path / "missing.json")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"schema": "something/9", "theta": {}}))
    with pytest.raises(PresetError, match="schema"):
        load_theta_file(other)
