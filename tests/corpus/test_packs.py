"""Licence recognition, ND detection and pack assignment rules."""

from __future__ import annotations

import json

import pytest

from technorhythm.corpus.packs import (
    assign_packs,
    identify_licence_text,
    is_no_derivatives,
    licence_of,
)


@pytest.mark.parametrize(
    ("text", "spdx"),
    [
        (
            "This work is licensed under the Creative Commons Attribution 4.0 International "
            "License. To view a copy of this license, visit http://creativecommons.org/licenses/by/4.0/",
            "CC-BY-4.0",
        ),
        ("Creative Commons Attribution-NonCommercial-NoDerivatives 4.0", "CC-BY-NC-ND-4.0"),
        ("Creative Commons Attribution-ShareAlike 3.0 Unported", "CC-BY-SA-3.0"),
        ("CC0 1.0 Universal — Creative Commons public domain dedication", "CC0-1.0"),
        ("MIT License\n\nPermission is hereby granted, free of charge, ...", "MIT"),
        ("All rights reserved. Do not copy.", "LicenseRef-unrecognised"),
    ],
)
def test_identify_licence_text(text, spdx):
    assert identify_licence_text(text) == spdx


def test_no_derivatives_detection():
    assert is_no_derivatives("CC-BY-ND-4.0")
    assert is_no_derivatives("CC-BY-NC-ND-4.0")
    assert not is_no_derivatives("CC-BY-NC-SA-4.0")
    assert not is_no_derivatives("MIT")


def test_nearest_licence_file_wins(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "LICENSE").write_text("MIT License")
    (tmp_path / "a" / "license.json").write_text(json.dumps({"license": "CC-BY-4.0"}))
    cache: dict = {}
    assert licence_of(tmp_path, "a/b/x.mid", None, cache) == ("CC-BY-4.0", "a/license.json")
    assert licence_of(tmp_path, "y.mid", None, cache) == ("MIT", "LICENSE")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "license.json").write_text("{}")
    with pytest.raises(ValueError, match="needs a string field 'license'"):
        licence_of(tmp_path, "c/z.mid", None, {})


def test_assign_packs_rules():
    files = ["top.mid", "p1/x.mid", "p1/s/y.mid"]
    assert assign_packs(files, "folder", None) == ["_root", "p1", "p1"]
    assert assign_packs(files, "folder:2", None) == ["_root", "p1", "p1/s"]
    with pytest.raises(ValueError, match="integer N >= 1"):
        assign_packs(files, "folder:x", None)
    with pytest.raises(ValueError, match="no metadata CSV"):
        assign_packs(files, "session", None)
