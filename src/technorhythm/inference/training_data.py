"""Simulated training pairs (θ, x) for neural posterior estimation.

One training example is a *set*: θ drawn from the uniform knob prior, a set size N drawn
log-uniformly from ``n_range`` (integers), N clips simulated with θ, and the set's
observation x (:func:`technorhythm.inference.observe.observe_sets`: summaries + log2(N)/10).

Reproducibility. Everything derives from one master ``seed``:

* θ and N come from ``numpy.random.default_rng(SeedSequence(seed, spawn_key=(0,)))``;
* the simulator seed is drawn from ``SeedSequence(seed, spawn_key=(1,))``;
* set j uses the clip stream indices ``start[j] … start[j] + N[j] - 1`` with
  ``start = cumsum(N) - N``, so sets never share a clip stream, and the simulator makes
  clip i depend only on (simulator seed, i).

The sets are processed in chunks of whole sets (about ``chunk_clips`` clips each, which
bounds memory); chunks run in parallel with joblib (``workers`` processes) or on a Dask
cluster (``scheduler=ADDRESS``, joblib's dask backend). The result is identical for any
worker count, chunk size or backend.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from technorhythm.inference.observe import observe_sets
from technorhythm.inference.prior import knob_bounds, sample_prior

__all__ = [
    "TrainingPlan",
    "simulate_sets",
    "simulate_training_set",
    "DEFAULT_CHUNK_CLIPS",
]

DEFAULT_CHUNK_CLIPS = 1 << 16
"""Clips simulated per chunk (about 100 MB of clip arrays)."""


@dataclass(frozen=True)
class TrainingPlan:
    """What to simulate: ``n_sets`` sets with sizes in ``n_range``, all from ``seed``.

    Attributes
    ----------
    n_sets : int
        Number of training examples (sets), M.
    seed : int
        Master seed (non-negative).
    n_range : (int, int)
        Inclusive set-size range; N is log-uniform over it (integers).
    """

    n_sets: int
    seed: int
    n_range: tuple[int, int] = (1, 1024)

    def __post_init__(self) -> None:
        if isinstance(self.n_sets, bool) or not isinstance(self.n_sets, int | np.integer):
            raise ValueError(f"n_sets must be a positive integer; got {self.n_sets!r}")
        if self.n_sets < 1:
            raise ValueError(f"n_sets must be a positive integer; got {self.n_sets!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer):
            raise ValueError(f"seed must be a non-negative integer; got {self.seed!r}")
        if not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be in [0, 2**63); got {self.seed!r}")
        lo, hi = (int(v) for v in self.n_range)
        if not 1 <= lo <= hi:
            raise ValueError(f"n_range must satisfy 1 <= low <= high; got {self.n_range!r}")
        object.__setattr__(self, "n_range", (lo, hi))

    @property
    def simulator_seed(self) -> int:
        """Seed passed to :func:`technorhythm.simulator.simulate` (derived from ``seed``)."""
        ss = np.random.SeedSequence(self.seed, spawn_key=(1,))
        return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))

    def draw(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """θ (M, K) in knob units, set sizes N (M,) and first clip index start (M,)."""
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(0,)))
        theta = sample_prior(self.n_sets, rng, knob_bounds())
        lo, hi = self.n_range
        # floor(exp(U(log lo, log(hi + 1)))) is log-uniform over the integers lo … hi.
        n = np.floor(np.exp(rng.uniform(np.log(lo), np.log(hi + 1), size=self.n_sets)))
        n = np.clip(n.astype(np.int64), lo, hi)
        start = np.cumsum(n) - n
        return theta, n, start

    def chunks(self, n: np.ndarray, chunk_clips: int = DEFAULT_CHUNK_CLIPS) -> list[slice]:
        """Consecutive slices of whole sets with about ``chunk_clips`` clips each."""
        if chunk_clips < 1:
            raise ValueError(f"chunk_clips must be positive; got {chunk_clips}")
        ends = np.cumsum(n)
        out, lo = [], 0
        while lo < len(n):
            base = ends[lo - 1] if lo else 0
            hi = int(np.searchsorted(ends, base + chunk_clips, side="right"))
            hi = max(hi, lo + 1)
            out.append(slice(lo, hi))
            lo = hi
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (for the model manifest), including the derived seeds."""
        record = asdict(self)
        record["n_range"] = list(self.n_range)
        record["simulator_seed"] = self.simulator_seed
        record["theta_and_n_seed"] = {"entropy": self.seed, "spawn_key": [0]}
        record["n_distribution"] = "log-uniform over integers"
        record["clip_indices"] = "set j: start[j] .. start[j]+N[j]-1, start = cumsum(N) - N"
        return record


def simulate_sets(
    theta: np.ndarray,
    n: np.ndarray,
    *,
    seed: int,
    start_index: int = 0,
    n_max: int = 1024,
) -> np.ndarray:
    """Simulate sets and observe them: ``x`` (M, S + 1) for θ (M, K) and sizes ``n`` (M,).

    Set j's clips are clip stream indices ``start_index + sum(n[:j]) …`` of ``seed``; all
    sets go through the simulator in one batch (per-clip θ) and through
    :func:`observe_sets` in one call.
    """
    from technorhythm.simulator import simulate

    theta = np.asarray(theta, dtype=np.float64)
    n = np.asarray(n, dtype=np.int64)
    if theta.ndim != 2 or n.shape != (theta.shape[0],):
        raise ValueError(f"theta (M, K) and n (M,) must agree; got {theta.shape} and {n.shape}")
    if np.any(n < 1):
        raise ValueError("every set needs at least one clip")
    clip_theta = np.repeat(theta, n, axis=0)
    groups = np.repeat(np.arange(len(n)), n)
    batch = simulate(clip_theta, seed=int(seed), start_index=int(start_index))
    return observe_sets(batch, groups, n_sets=len(n), n_cap=None, n_max=n_max)


def _chunk_job(theta, n, seed, start_index, n_max):
    return simulate_sets(theta, n, seed=seed, start_index=start_index, n_max=n_max)


def simulate_training_set(
    n_sets: int,
    *,
    seed: int,
    n_range: tuple[int, int] = (1, 1024),
    workers: int = 1,
    scheduler: str | None = None,
    chunk_clips: int = DEFAULT_CHUNK_CLIPS,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate ``n_sets`` training examples; see the module docstring.

    Parameters
    ----------
    n_sets : int
        Training budget M (number of sets).
    seed : int
        Master seed; the same seed gives the same (θ, x) for any ``workers``/``scheduler``.
    n_range : (int, int)
        Inclusive range of set sizes (log-uniform integers).
    workers : int
        joblib processes (1 = in this process). Ignored with ``scheduler``.
    scheduler : str, optional
        Address of a Dask scheduler (e.g. ``tcp://host:8786``); chunks then run on that
        cluster through joblib's dask backend.
    chunk_clips : int
        Approximate clips per chunk (memory bound per task).
    progress : bool
        Show a tqdm progress bar over chunks.

    Returns
    -------
    theta : ndarray (M, K) float64
        Knob units, registry order.
    x : ndarray (M, S + 1) float64
        Summaries then ``log2(N) / 10``.
    """
    plan = TrainingPlan(n_sets=n_sets, seed=seed, n_range=n_range)
    theta, n, start = plan.draw()
    chunks = plan.chunks(n, chunk_clips)
    sim_seed = plan.simulator_seed
    n_max = plan.n_range[1]
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer; got {workers!r}")
    jobs = [(theta[s], n[s], sim_seed, int(start[s.start]), n_max) for s in chunks]
    results = _run_jobs(jobs, workers=workers, scheduler=scheduler, progress=progress)
    return theta, np.concatenate(results, axis=0)


def _run_jobs(
    jobs: list[tuple],
    *,
    workers: int,
    scheduler: str | None,
    progress: bool,
    func=_chunk_job,
):
    """Run ``func`` (default ``_chunk_job``) over ``jobs`` in order, locally or on Dask."""
    from joblib import Parallel, delayed, parallel_config
    from tqdm.auto import tqdm

    bar = tqdm(total=len(jobs), desc="simulating sets", unit="chunk", disable=not progress)
    with contextlib.ExitStack() as stack:
        if scheduler is not None:
            from technorhythm.dask_support import dask_client

            client = stack.enter_context(dask_client(scheduler))
            stack.enter_context(parallel_config(backend="dask"))
            n_jobs = max(1, sum(client.nthreads().values()))
        else:
            n_jobs = workers
        if n_jobs == 1 and scheduler is None:
            results = []
            for job in jobs:
                results.append(func(*job))
                bar.update()
        else:
            parallel = Parallel(n_jobs=n_jobs, return_as="generator")
            results = []
            for res in parallel(delayed(func)(*job) for job in jobs):
                results.append(res)
                bar.update()
    bar.close()
    return results
