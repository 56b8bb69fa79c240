"""The posterior estimator shipped inside the package (``technorhythm/inference/shipped/``).

It was trained by the project's own ``technorhythm train``; the exact command, budget,
seeds and timings are in its ``manifest.json`` (``data_reference``) and in
docs/inference.md. Fitting a corpus therefore needs no training — as long as the prior,
simulator and summaries are the ones it was trained for, which :func:`load_shipped`
checks (see :mod:`technorhythm.inference.persistence`).
"""

from __future__ import annotations

from pathlib import Path

from technorhythm.inference.estimator import PosteriorEstimator
from technorhythm.inference.persistence import (
    MANIFEST_NAME,
    ModelError,
    load_estimator,
)

__all__ = ["SHIPPED_DIR", "SHIPPED_RETRAIN_COMMAND", "load_shipped"]

SHIPPED_DIR = Path(__file__).resolve().with_name("shipped")
"""Folder of the shipped model (package data)."""
SHIPPED_RETRAIN_COMMAND = (
    "technorhythm train --budget 30000 --seed 0 --workers 2 --force "
    "--out src/technorhythm/inference/shipped"
)
"""Fallback retrain command; the manifest's ``data_reference.command`` is authoritative."""


def load_shipped() -> PosteriorEstimator:
    """Load the shipped posterior estimator.

    Raises
    ------
    ModelVersionError
        The installed prior/simulator/summaries differ from those it was trained for; the
        message gives the command that retrains it.
    ModelError
        The package has no shipped model (e.g. a source checkout without it).
    """
    if not (SHIPPED_DIR / MANIFEST_NAME).is_file():
        raise ModelError(
            f"no shipped model found in {SHIPPED_DIR}; train one with `{SHIPPED_RETRAIN_COMMAND}`"
            " or pass your own model directory"
        )
    return load_estimator(SHIPPED_DIR)
