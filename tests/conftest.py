"""Shared fixtures: the Groove corpus location and a default random generator."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

_DEFAULT_GROOVE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "groove"


def groove_dir() -> Path | None:
    """The Groove MIDI Dataset folder, or None when it is not on this machine."""
    path = Path(os.environ.get("TECHNORHYTHM_GROOVE_DIR", _DEFAULT_GROOVE))
    return path if (path / "info.csv").is_file() else None


@pytest.fixture(scope="session")
def groove() -> Path:
    """Path of the Groove corpus; skips the test with a reason when it is absent."""
    path = groove_dir()
    if path is None:
        pytest.skip(
            "Groove MIDI Dataset not found at ../shared/data/groove; "
            "set TECHNORHYTHM_GROOVE_DIR to run the data tests"
        )
    return path


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
