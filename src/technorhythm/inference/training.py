"""End-to-end training: simulate a budget of sets, fit a :class:`PosteriorEstimator`.

:func:`train_estimator` is what ``technorhythm train`` runs. It records, in the
estimator's ``data_reference_`` (and so in the saved manifest), the training plan with
every seed, the simulation time, the x layout and the exact command that reproduces the
model (:func:`training_command`).
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Mapping
from typing import Any

from technorhythm.inference.estimator import PosteriorEstimator
from technorhythm.inference.observe import N_FEATURE_NAME
from technorhythm.inference.training_data import (
    DEFAULT_CHUNK_CLIPS,
    TrainingPlan,
    simulate_training_set,
)

__all__ = ["train_estimator", "training_command", "CLI_OPTIONS"]

CLI_OPTIONS: dict[str, str] = {
    "estimator": "--estimator",
    "hidden_features": "--hidden-features",
    "num_transforms": "--num-transforms",
    "num_bins": "--num-bins",
    "training_batch_size": "--batch-size",
    "learning_rate": "--learning-rate",
    "stop_after_epochs": "--stop-after-epochs",
    "max_num_epochs": "--max-epochs",
    "validation_fraction": "--validation-fraction",
}
"""``technorhythm train`` option for each estimator parameter it exposes."""


def training_command(
    budget: int,
    *,
    seed: int,
    n_range: tuple[int, int],
    estimator_params: Mapping[str, Any],
    out: str = "MODEL_DIR",
) -> str:
    """The ``technorhythm train`` command line that reproduces a model (shell-quoted)."""
    args = ["technorhythm", "train", "--budget", str(budget), "--seed", str(seed)]
    args += ["--n-min", str(n_range[0]), "--n-max", str(n_range[1])]
    for name, flag in CLI_OPTIONS.items():
        if name in estimator_params:
            args += [flag, str(estimator_params[name])]
    if estimator_params.get("unconstrained") is False:
        args.append("--bounded")
    args += ["--out", out]
    return shlex.join(args)


def train_estimator(
    budget: int,
    *,
    seed: int = 0,
    n_range: tuple[int, int] = (1, 1024),
    workers: int = 1,
    scheduler: str | None = None,
    chunk_clips: int = DEFAULT_CHUNK_CLIPS,
    estimator_params: Mapping[str, Any] | None = None,
    out: str = "MODEL_DIR",
    progress: bool = False,
) -> PosteriorEstimator:
    """Simulate ``budget`` sets and train a posterior estimator on them.

    Parameters
    ----------
    budget : int
        Number of simulated sets (training examples), split by the estimator into training
        and validation (``validation_fraction``).
    seed : int
        Master seed: seeds the training data (:class:`TrainingPlan`) and, unless
        ``estimator_params`` sets ``seed``, the network (initialisation, split, batches).
    n_range, workers, scheduler, chunk_clips, progress
        See :func:`technorhythm.inference.simulate_training_set`.
    estimator_params : mapping, optional
        Keyword arguments of :class:`PosteriorEstimator` (estimator, hidden_features, ...).
    out : str
        Model directory, only used to write the reproducing command into the record.

    Returns
    -------
    PosteriorEstimator
        Trained, with ``posterior_`` built and ``data_reference_`` filled in.
    """
    from technorhythm.inference.version import current_versions

    params = dict(estimator_params or {})
    params.setdefault("seed", seed)
    params.setdefault("show_progress_bars", progress)
    estimator = PosteriorEstimator(**params)
    estimator._validate_config()  # fail on a bad configuration before simulating
    plan = TrainingPlan(n_sets=budget, seed=seed, n_range=n_range)
    start = time.perf_counter()
    theta, x = simulate_training_set(
        budget,
        seed=seed,
        n_range=n_range,
        workers=workers,
        scheduler=scheduler,
        chunk_clips=chunk_clips,
        progress=progress,
    )
    simulation_time = time.perf_counter() - start
    n_clips = int(plan.draw()[1].sum())
    versions = current_versions()
    reference = {
        "kind": "simulated training sets",
        "plan": plan.to_dict(),
        "n_clips": n_clips,
        "simulation_time_s": round(simulation_time, 3),
        "workers": workers,
        "scheduler": scheduler,
        "chunk_clips": chunk_clips,
        "x_names": [*versions["summary_names"], N_FEATURE_NAME],
        "n_transform": "x[-1] = log2(N) / 10",
        "n_range": list(plan.n_range),
        "command": training_command(
            budget, seed=seed, n_range=plan.n_range, estimator_params=params, out=out
        ),
    }
    return estimator.fit(theta, x, data_reference=reference)
