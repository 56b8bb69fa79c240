"""The population model shipped inside the package (``technorhythm/inference/shipped/``).

It was trained by the project's own ``technorhythm train``; the exact command, budget,
seeds and timings are in its ``manifest.json`` (``data_reference``) and in
docs/inference.md. Fitting a corpus therefore needs no training — as long as the prior,
simulator and summaries are the ones it was trained for, which :func:`load_shipped`
checks (see :mod:`technorhythm.inference.persistence`).
"""

from __future__ import annotations

import json
from pathlib import Path

from technorhythm.inference.persistence import MANIFEST_NAME, ModelError, safe_retrain_command
from technorhythm.inference.population_estimator import PopulationEstimator
from technorhythm.inference.population_io import POPULATION_FORMAT, load_population

__all__ = ["SHIPPED_DIR", "SHIPPED_RETRAIN_COMMAND", "load_shipped", "shipped_is_population"]

SHIPPED_DIR = Path(__file__).resolve().with_name("shipped")
"""Folder of the shipped model (package data)."""
SHIPPED_RETRAIN_COMMAND = (
    "technorhythm train --budget 100000 --seed 0 --n-min 1 --n-max 1024 --loops-per-set 1 "
    "--pack-members 2 --hidden-features 64 --num-transforms 4 --num-bins 8 "
    "--embedding 256,128 --passes 2 --batch-size 256 --learning-rate 0.001 "
    "--stop-after-epochs 5 --max-epochs 27 --anneal-epochs 5 --anneal-factor 0.2 "
    "--loop-model mdn --loop-hidden-features 64 --loop-transforms 5 --loop-max-epochs 10 "
    "--threads 1 --workers 2 --force --plot docs/img/inference/training_loss.png "
    "--out src/technorhythm/inference/shipped"
)
"""The command that trained the shipped model (run from the repository root).

The manifest's ``data_reference.command`` records the same settings (without the options
that do not change the result: ``--workers``, ``--force``, ``--plot``)."""


def shipped_is_population() -> bool:
    """Whether the shipped folder holds a population model (not a one-θ model from before)."""
    path = SHIPPED_DIR / MANIFEST_NAME
    if not path.is_file():
        return False
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("format") == POPULATION_FORMAT
    except (OSError, ValueError):
        return False


def load_shipped() -> PopulationEstimator:
    """Load the shipped population model.

    Raises
    ------
    ModelVersionError
        The installed prior/simulator/summaries differ from those it was trained for; the
        message gives the command that retrains it.
    ModelError
        The package has no shipped population model (e.g. a source checkout without it, or
        a one-θ model from before the population model).
    """
    if not (SHIPPED_DIR / MANIFEST_NAME).is_file() or not shipped_is_population():
        raise ModelError(
            f"no shipped population model found in {SHIPPED_DIR}; train one with "
            f"`{safe_retrain_command(SHIPPED_RETRAIN_COMMAND)}` and pass `--model MODEL_DIR`"
        )
    return load_population(SHIPPED_DIR)
