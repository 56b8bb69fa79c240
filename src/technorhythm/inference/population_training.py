"""End-to-end training of the population model: what ``technorhythm train`` runs.

:func:`train_population` simulates ``budget`` population sets
(:mod:`technorhythm.inference.population_data`), trains both networks of a
:class:`~technorhythm.inference.PopulationEstimator`, and records in its
``data_reference_`` (so in the saved manifest) the plan with every seed, the simulation
and training times, the observation layout and the exact command that reproduces it.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Mapping
from typing import Any

from technorhythm.inference.population_data import PopulationPlan, simulate_population_sets
from technorhythm.inference.population_estimator import PopulationEstimator
from technorhythm.inference.training_data import DEFAULT_CHUNK_CLIPS

__all__ = ["train_population", "population_command", "PACK_OPTIONS", "LOOP_OPTIONS"]

PACK_OPTIONS: dict[str, str] = {
    "hidden_features": "--hidden-features",
    "num_transforms": "--num-transforms",
    "num_bins": "--num-bins",
    "embedding_features": "--embedding",
    "passes": "--passes",
    "affine_head": "--affine-head",
    "training_batch_size": "--batch-size",
    "learning_rate": "--learning-rate",
    "stop_after_epochs": "--stop-after-epochs",
    "max_num_epochs": "--max-epochs",
    "anneal_epochs": "--anneal-epochs",
    "anneal_factor": "--anneal-factor",
}
"""``technorhythm train`` option for each pack-network parameter it exposes."""
LOOP_OPTIONS: dict[str, str] = {
    "model": "--loop-model",
    "hidden_features": "--loop-hidden-features",
    "num_transforms": "--loop-transforms",
    "max_num_epochs": "--loop-max-epochs",
}
"""``technorhythm train`` option for each loop-network parameter it exposes."""


def _format(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list | tuple):
        return ",".join(str(int(v)) for v in value) or "none"
    return str(value)


def population_command(
    plan: PopulationPlan,
    pack: Mapping[str, Any],
    loop: Mapping[str, Any],
    out: str = "MODEL_DIR",
    threads: int | None = None,
    pack_members: int = 1,
) -> str:
    """The ``technorhythm train`` command line that reproduces a model (shell-quoted)."""
    args = ["technorhythm", "train", "--budget", str(plan.n_sets), "--seed", str(plan.seed)]
    args += ["--n-min", str(plan.n_range[0]), "--n-max", str(plan.n_range[1])]
    args += ["--loops-per-set", str(plan.loops_per_set)]
    if int(pack_members) != 1:
        args += ["--pack-members", str(int(pack_members))]
    for name, flag in PACK_OPTIONS.items():
        if name not in pack:
            continue
        if isinstance(pack[name], bool):  # a switch: named when on, absent when off
            args += [flag] if pack[name] else []
        else:
            args += [flag, _format(pack[name])]
    for name, flag in LOOP_OPTIONS.items():
        if name in loop:
            args += [flag, _format(loop[name])]
    if threads is not None:
        args += ["--threads", str(int(threads))]
    return shlex.join([*args, "--out", out])


def train_population(
    budget: int,
    *,
    seed: int = 0,
    n_range: tuple[int, int] = (1, 1024),
    loops_per_set: int = 4,
    workers: int = 1,
    scheduler: str | None = None,
    chunk_clips: int = DEFAULT_CHUNK_CLIPS,
    pack: Mapping[str, Any] | None = None,
    loop: Mapping[str, Any] | None = None,
    out: str = "MODEL_DIR",
    progress: bool = False,
    threads: int | None = None,
    pack_members: int = 1,
) -> PopulationEstimator:
    """Simulate ``budget`` population sets and train a :class:`PopulationEstimator`.

    Parameters
    ----------
    budget : int
        Number of simulated sets (pack-network training examples).
    seed : int
        Master seed of the data and the networks.
    n_range : (int, int)
        Inclusive set-size range (log-uniform integers).
    loops_per_set : int
        Loops per set given to the loop network.
    workers, scheduler, chunk_clips, progress
        See :func:`technorhythm.inference.simulate_population_sets`; ``workers`` processes
        also train the networks side by side.
    pack, loop : mapping, optional
        Network options over the estimator's defaults.
    out : str
        Model directory, only written into the reproducing command.
    threads : int, optional
        torch threads for training (None: one). Recorded in the reproducing command: the
        weights agree bit for bit only between runs with the same count.
    pack_members : int
        Pack networks of the ensemble (:class:`PopulationEstimator`).
    """
    from technorhythm.inference.set_summaries import set_feature_names
    from technorhythm.summaries import FEATURE_NAMES

    estimator = PopulationEstimator(
        pack=dict(pack or {}),
        loop=dict(loop or {}),
        seed=seed,
        pack_members=pack_members,
        show_progress_bars=progress,
    )
    params = estimator.get_params()  # validates the options before simulating
    plan = PopulationPlan(budget, seed, n_range, loops_per_set)
    start = time.perf_counter()
    data = simulate_population_sets(
        plan,
        estimator.population,
        workers=workers,
        scheduler=scheduler,
        chunk_clips=chunk_clips,
        progress=progress,
    )
    simulation_time = time.perf_counter() - start
    reference = {
        "kind": "simulated population sets",
        "plan": plan.to_dict(),
        "n_range": list(plan.n_range),
        "n_loops": int(len(data.z)),
        "simulation_time_s": round(simulation_time, 3),
        "workers": workers,
        "scheduler": scheduler,
        "chunk_clips": chunk_clips,
        "x_names": list(set_feature_names()),
        "loop_feature_names": list(FEATURE_NAMES),
        "command": population_command(
            plan,
            dict(pack or {}),
            dict(loop or {}),
            out=out,
            threads=threads,
            pack_members=pack_members,
        ),
        "training_threads": threads,
    }
    start = time.perf_counter()
    estimator.fit(data, data_reference=reference, threads=threads, workers=workers)
    reference["training_wall_s"] = round(time.perf_counter() - start, 3)
    reference["training_time_s"] = round(
        estimator.pack_.training_time_s_ + estimator.loop_.training_time_s_, 3
    )
    estimator.data_reference_ = reference
    del params
    return estimator
