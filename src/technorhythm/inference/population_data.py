"""Simulated training data of the population model: sets of loops drawn from a population.

One training example is a set: ψ from the uniform hyperprior
(:class:`technorhythm.inference.population.Population`), a set size N log-uniform over
``n_range``, N latent knob vectors z_i ~ Normal(loc, spread) censored to the knob box,
N clips simulated (one θ_i = clip(z_i) per clip) and the set observation
(:func:`technorhythm.inference.set_summaries.observe_population_sets`). The first
``loops_per_set`` loops of every set also give the loop network its pairs
(z_i, [loop features, ψ]).

Reproducibility: ψ and N come from ``SeedSequence(seed, spawn_key=(0,))``; set j's latent
knobs from ``SeedSequence([seed, 2, j])``; its clips are the clip streams
``start[j] … start[j] + N[j] − 1`` of one simulator seed derived from ``seed``. Chunks of
whole sets run in parallel with joblib or Dask and give the same result for any worker
count or chunk size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from technorhythm.inference.population import Population
from technorhythm.inference.training_data import DEFAULT_CHUNK_CLIPS, TrainingPlan, _run_jobs

__all__ = [
    "PopulationPlan",
    "PopulationData",
    "simulate_population_sets",
    "loop_condition",
    "loop_condition_grid",
]


@dataclass(frozen=True)
class PopulationPlan:
    """``n_sets`` population sets with sizes in ``n_range``; ``loops_per_set`` loop pairs each."""

    n_sets: int
    seed: int
    n_range: tuple[int, int] = (1, 1024)
    loops_per_set: int = 4

    def __post_init__(self) -> None:
        TrainingPlan(self.n_sets, self.seed, self.n_range)  # same validation
        object.__setattr__(self, "n_range", (int(self.n_range[0]), int(self.n_range[1])))
        if isinstance(self.loops_per_set, bool) or int(self.loops_per_set) < 1:
            raise ValueError(f"loops_per_set must be a positive integer; got {self.loops_per_set}")

    def base(self) -> TrainingPlan:
        """The set-size plan (N, clip streams, simulator seed) shared with the one-θ data."""
        return TrainingPlan(self.n_sets, self.seed, self.n_range)

    def draw(self, population: Population) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """ψ (M, 2K), set sizes N (M,) and first clip index start (M,)."""
        _, n, start = self.base().draw()
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(0, 1)))
        return population.sample_hyper(self.n_sets, rng), n, start

    def to_dict(self) -> dict:
        """JSON-ready record for the model manifest."""
        record = self.base().to_dict()
        record["loops_per_set"] = int(self.loops_per_set)
        record["psi_seed"] = {"entropy": self.seed, "spawn_key": [0, 1]}
        record["latent_seed"] = "set j: SeedSequence([seed, 2, j])"
        return record


@dataclass(frozen=True)
class PopulationData:
    """Training pairs of both networks.

    ``psi`` (M, 2K) and ``x_set`` (M, D): the pack network's pairs; ``z`` (L, K) latent
    knobs, ``x_loop`` (L, F) loop features and ``loop_set`` (L,) the set of each loop:
    the loop network's pairs (with ``psi[loop_set]``).
    """

    psi: np.ndarray
    x_set: np.ndarray
    z: np.ndarray
    x_loop: np.ndarray
    loop_set: np.ndarray


def loop_condition(x_loop: np.ndarray, psi: np.ndarray, population: Population) -> np.ndarray:
    """The loop network's condition: loop features then ψ scaled by the knob ranges.

    Row r pairs ``x_loop[r]`` with ``psi[r]`` (both (M, ·)) → (M, F + 2K) float64.
    """
    return np.column_stack([x_loop, _psi_unit(psi, population)])


def loop_condition_grid(x_loop: np.ndarray, psi: np.ndarray, population: Population) -> np.ndarray:
    """:func:`loop_condition` of every (ψ draw, loop) pair, ψ-major: x_loop (B, F), ψ (S, 2K)
    → (S·B, F + 2K) float32 (the flows' precision), built in one allocation."""
    s, b, f = len(psi), len(x_loop), x_loop.shape[1]
    out = np.empty((s, b, f + psi.shape[1]), dtype=np.float32)
    out[:, :, :f] = x_loop[None]
    out[:, :, f:] = _psi_unit(psi, population)[:, None]
    return out.reshape(s * b, -1)


def _psi_unit(psi: np.ndarray, population: Population) -> np.ndarray:
    loc, spread = population.split(psi)
    width = population.bounds[:, 1] - population.bounds[:, 0]
    return np.column_stack([(loc - population.bounds[:, 0]) / width, spread / width])


def _chunk(psi, n, first_set, seed, sim_seed, start_index, n_max, loops_per_set, bounds, names):
    from technorhythm.inference.set_summaries import loop_features, observe_population_sets
    from technorhythm.simulator import simulate
    from technorhythm.summaries.features import batch_stats

    population = Population(bounds, names)
    z = np.concatenate(
        [
            population.sample_latent(psi[j], n[j], np.random.default_rng([seed, 2, first_set + j]))
            for j in range(len(n))
        ]
    )
    groups = np.repeat(np.arange(len(n)), n)
    batch = simulate(population.clip(z), seed=sim_seed, start_index=start_index)
    stats = batch_stats(batch)  # once: the set summaries and the per-loop features share them
    f = loop_features(batch, stats=stats)
    x_set = observe_population_sets(
        batch, groups, n_sets=len(n), n_max=n_max, features=f, stats=stats
    )
    rank = np.arange(len(groups)) - np.repeat(np.cumsum(n) - n, n)
    keep = rank < loops_per_set
    return x_set, z[keep], f[keep], groups[keep] + first_set


def simulate_population_sets(
    plan: PopulationPlan,
    population: Population | None = None,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    chunk_clips: int = DEFAULT_CHUNK_CLIPS,
    progress: bool = False,
) -> PopulationData:
    """Simulate the plan's sets (module docstring) → :class:`PopulationData`."""
    population = Population.from_registry() if population is None else population
    psi, n, start = plan.draw(population)
    base = plan.base()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer; got {workers!r}")
    jobs = [
        (
            psi[s],
            n[s],
            s.start,
            plan.seed,
            base.simulator_seed,
            int(start[s.start]),
            plan.n_range[1],
            plan.loops_per_set,
            population.bounds,
            population.names,
        )
        for s in base.chunks(n, chunk_clips)
    ]
    parts = _run_jobs(jobs, workers=workers, scheduler=scheduler, progress=progress, func=_chunk)
    return PopulationData(
        psi=psi,
        x_set=np.concatenate([p[0] for p in parts]),
        z=np.concatenate([p[1] for p in parts]),
        x_loop=np.concatenate([p[2] for p in parts]),
        loop_set=np.concatenate([p[3] for p in parts]),
    )
