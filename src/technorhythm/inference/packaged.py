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
    safe_retrain_command,
)

__all__ = ["SHIPPED_DIR", "SHIPPED_RETRAIN_COMMAND", "load_shipped"]

SHIPPED_DIR = Path(__file__).resolve().with_name("shipped")
"""Folder of the shipped model (package data)."""
SHIPPED_RETRAIN_COMMAND = (
    "technorhythm train --budget 30000 --seed 0 --n-min 1 --n-max 1024 --estimator nsf "
    "--hidden-features 64 --num-transforms 5 --num-bins 8 --batch-size 512 "
    "--learning-rate 0.001 --stop-after-epochs 10 --max-epochs 100 --validation-fraction 0.1 "
    "--workers 2 --force --plot docs/img/inference/training_loss.png "
    "--out src/technorhythm/inference/shipped"
)
"""The command that trained the shipped model (run from the repository root).

The manifest's ``data_reference.command`` records the same settings (without the options
that do not change the result: ``--workers``, ``--force``, ``--plot``)."""


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
            f"no shipped model found in {SHIPPED_DIR}; train one with "
            f"`{safe_retrain_command(SHIPPED_RETRAIN_COMMAND)}` and pass `--model MODEL_DIR`"
        )
    return load_estimator(SHIPPED_DIR)
