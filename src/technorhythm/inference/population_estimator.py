"""The amortised population estimator: p(ψ | pack) and p(θ_i | loop, pack).

Two conditional flows (:class:`technorhythm.inference.flows.ConditionalFlow`):

* the **pack network** q(ψ | set observation): ψ (a location and a spread per knob,
  :mod:`technorhythm.inference.population`) mapped to logit space by the hyperprior's box,
  given the set observation of :mod:`technorhythm.inference.set_summaries`; one network
  for packs of 1 … ``n_max`` loops;
* the **loop network** q(z_i | loop features, ψ): the latent knobs of one loop given its
  own features and the pack's ψ, in units of the knob ranges.

Given ψ, a loop's knobs depend on the pack only through the loop itself, so
p(θ_i | pack) = ∫ p(θ_i | loop i, ψ) p(ψ | pack) dψ exactly: every ψ draw of the pack is
paired with one draw of every loop's latent z_i, and θ_i = clip(z_i) (mass on the bounds
included). The result is partial pooling: a loop's posterior leans on its pack's
population as much as its own features leave open.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from technorhythm.inference.ensemble import FlowEnsemble, fit_flows
from technorhythm.inference.estimator import NotFittedError, _seed_int
from technorhythm.inference.flows import BoxLogit, ConditionalFlow
from technorhythm.inference.population import Population
from technorhythm.inference.population_data import (
    PopulationData,
    loop_condition,
    loop_condition_grid,
)
from technorhythm.threads import available_cores

__all__ = ["PopulationEstimator", "PACK_DEFAULTS", "LOOP_DEFAULTS", "training_processes"]

PACK_DEFAULTS: dict[str, Any] = {
    "model": "nsf",
    "hidden_features": 64,
    "num_transforms": 6,
    "num_bins": 8,
    "embedding_features": (256, 128),
    "passes": 2,
    "affine_head": False,
    "training_batch_size": 512,
    "learning_rate": 1e-3,
    "stop_after_epochs": 10,
    "max_num_epochs": 80,
    "anneal_epochs": 0,
    "anneal_factor": 0.2,
}
"""Pack-network configuration: coupling spline flow on an embedding of the observation
(sampled about 20 times faster than a fully autoregressive flow on the raw observation;
see docs/inference.md for the measured alternatives)."""
LOOP_DEFAULTS: dict[str, Any] = {
    "model": "mdn",
    "hidden_features": 64,
    "num_transforms": 5,
    "num_bins": 8,
    "embedding_features": (),
    "passes": None,
    "training_batch_size": 1024,
    "learning_rate": 1e-3,
    "stop_after_epochs": 10,
    "max_num_epochs": 80,
}
"""Loop-network configuration: a 5-component Gaussian mixture (one network pass per draw,
so every loop of a corpus gets its draws in seconds)."""


def training_processes(workers: int, threads: int | None, cores: int | None = None) -> int:
    """How many networks train side by side: ``workers``, but no more than the ``cores``
    (default: those this process may use) hold at ``threads`` torch threads each: torch
    threads that outnumber the cores wait on each other."""
    cores = available_cores() if cores is None else int(cores)
    return max(1, min(int(workers), cores // max(1, int(threads or 1))))


class PopulationEstimator:
    """Amortised posterior of the population model (module docstring).

    Parameters
    ----------
    pack, loop : mapping, optional
        :class:`ConditionalFlow` arguments of the two networks, over
        :data:`PACK_DEFAULTS` / :data:`LOOP_DEFAULTS`.
    seed : int
        Seeds both networks (the loop network with ``seed + 1``).
    pack_members : int
        Pack networks trained side by side on the same simulations (seeds ``seed``, then
        ``seed + 2``, ``seed + 3`` …); the pack posterior is their equal mixture
        (:class:`~technorhythm.inference.ensemble.FlowEnsemble`). One member: a single
        network.
    torch_threads : int or None
        torch threads of both networks.
    bounds, names
        Knob box and names; default: the knob registry.
    """

    def __init__(
        self,
        *,
        pack: Mapping[str, Any] | None = None,
        loop: Mapping[str, Any] | None = None,
        seed: int = 0,
        pack_members: int = 1,
        torch_threads: int | None = 1,
        bounds: np.ndarray | None = None,
        names: tuple[str, ...] | None = None,
        show_progress_bars: bool = False,
    ) -> None:
        self.pack = pack
        self.loop = loop
        self.seed = seed
        self.pack_members = pack_members
        self.torch_threads = torch_threads
        self.bounds = bounds
        self.names = names
        self.show_progress_bars = show_progress_bars

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments, JSON-friendly."""
        return {
            "pack": self._flow_params("pack"),
            "loop": self._flow_params("loop"),
            "seed": int(self.seed),
            "pack_members": self._n_members(),
            "torch_threads": self.torch_threads,
            "bounds": None if self.bounds is None else np.asarray(self.bounds).tolist(),
            "names": None if self.names is None else list(self.names),
        }

    def _n_members(self) -> int:
        m = self.pack_members
        if isinstance(m, bool) or not isinstance(m, int | np.integer) or m < 1:
            raise ValueError(f"pack_members must be a positive integer; got {m!r}")
        return int(m)

    def _flow_params(self, which: str) -> dict[str, Any]:
        defaults = PACK_DEFAULTS if which == "pack" else LOOP_DEFAULTS
        given = dict(getattr(self, which) or {})
        unknown = set(given) - set(ConditionalFlow().get_params()) - {"show_progress_bars"}
        if unknown:
            raise ValueError(f"unknown {which}-network options: {sorted(unknown)}")
        params = {**defaults, **given}
        params["embedding_features"] = [int(v) for v in params["embedding_features"]]
        return params

    @property
    def population(self) -> Population:
        """The population family over this estimator's knobs."""
        if self.bounds is None:
            return Population.from_registry()
        names = self.names or tuple(f"theta_{i}" for i in range(len(self.bounds)))
        return Population(np.asarray(self.bounds, dtype=np.float64), tuple(names))

    @property
    def theta_names(self) -> tuple[str, ...]:
        """Knob names."""
        return self.population.names

    @property
    def theta_bounds(self) -> np.ndarray:
        """Knob box (K, 2)."""
        return self.population.bounds

    @property
    def hyper_names(self) -> tuple[str, ...]:
        """Names of ψ's entries (``<knob>_loc`` …, ``<knob>_spread`` …)."""
        return self.population.hyper_names

    @property
    def hyper_bounds(self) -> np.ndarray:
        """Box of ψ (2K, 2)."""
        return self.population.hyper_bounds

    def _flow(self, which: str, threads: int | None = None, member: int = 0) -> ConditionalFlow:
        offset = 1 if which == "loop" else (0 if member == 0 else member + 1)
        params = self._flow_params(which)
        params.update(
            seed=_seed_int(self.seed) + offset,
            torch_threads=self.torch_threads if threads is None else int(threads),
            show_progress_bars=self.show_progress_bars,
        )
        return ConditionalFlow(**params)

    # -- training ------------------------------------------------------------------------
    def fit(
        self,
        data: PopulationData,
        *,
        data_reference: Mapping[str, Any] | None = None,
        threads: int | None = None,
        workers: int = 1,
    ) -> PopulationEstimator:
        """Train the pack network(s) on (ψ, x_set) and the loop network on the loop pairs.

        ``threads``: torch threads for training only (None: ``torch_threads``); the trained
        flows keep ``torch_threads`` for sampling. Weights agree bit for bit between runs
        with the same thread count. ``workers``: processes training the networks side by
        side (the result does not depend on it), at most as many as the machine's cores hold
        at ``threads`` threads each (:func:`training_processes`).
        """
        pop = self.population
        psi = np.asarray(data.psi, dtype=np.float64)
        box = pop.hyper_bounds
        if psi.ndim != 2 or psi.shape[1] != len(box):
            raise ValueError(f"psi must have shape (M, {len(box)}); got {psi.shape}")
        if np.any((psi < box[:, 0]) | (psi > box[:, 1])):
            raise ValueError("psi has values outside the hyperprior's box")
        t_pack = BoxLogit(box).forward(psi)
        jobs = [
            (self._flow("pack", threads, member), t_pack, data.x_set)
            for member in range(self._n_members())
        ]
        jobs.append(
            (
                self._flow("loop", threads),
                self._z_unit(data.z),
                loop_condition(data.x_loop, psi[data.loop_set], pop),
            )
        )
        train_threads = self.torch_threads if threads is None else threads
        *packs, self.loop_ = fit_flows(jobs, workers=training_processes(workers, train_threads))
        self.pack_ = FlowEnsemble(packs)
        for flow in (self.pack_, self.loop_):
            flow.torch_threads = self.torch_threads
        self.x_dim_ = int(np.shape(data.x_set)[1])
        self.loop_dim_ = int(np.shape(data.x_loop)[1])
        self.n_sets_ = len(psi)
        self.n_loops_ = len(data.z)
        self.data_reference_ = dict(data_reference or {})
        return self

    def _z_unit(self, z: np.ndarray) -> np.ndarray:
        b = self.theta_bounds
        return (np.asarray(z, dtype=np.float64) - b[:, 0]) / (b[:, 1] - b[:, 0])

    def _z_knob(self, u: np.ndarray) -> np.ndarray:
        b = self.theta_bounds
        return b[:, 0] + np.asarray(u) * (b[:, 1] - b[:, 0])

    def _check_fitted(self) -> None:
        if getattr(self, "pack_", None) is None:
            raise NotFittedError(
                "this PopulationEstimator is not trained; call fit() or load() a model"
            )

    # -- sampling ------------------------------------------------------------------------
    def sample_hyper(
        self, x_set: np.ndarray, n: int, *, seed: int | np.random.Generator
    ) -> np.ndarray:
        """``n`` draws of ψ for each set observation row (G, D) → (n, G, 2K), knob units."""
        self._check_fitted()
        x = np.atleast_2d(np.asarray(x_set, dtype=np.float64))
        t = self.pack_.sample(x, n, seed=seed)
        return BoxLogit(self.hyper_bounds).inverse(t)

    def sample_batched(
        self, x_obs: np.ndarray, n: int, *, seed: int | np.random.Generator
    ) -> np.ndarray:
        """Same as :meth:`sample_hyper` (the diagnostics' sampler protocol)."""
        return self.sample_hyper(x_obs, n, seed=seed)

    def log_prob_hyper(self, psi: np.ndarray, x_set: np.ndarray) -> np.ndarray:
        """log q(ψ | x) in knob units for ψ (n, G, 2K) and x (G, D) → (n, G)."""
        self._check_fitted()
        box = BoxLogit(self.hyper_bounds)
        psi = np.asarray(psi, dtype=np.float64)
        x = np.atleast_2d(np.asarray(x_set, dtype=np.float64))
        return self.pack_.log_prob(box.forward(psi), x) + box.log_det_forward(psi)

    def sample_latent(
        self,
        x_loop: np.ndarray,
        psi: np.ndarray,
        *,
        seed: int | np.random.Generator,
        chunk_rows: int = 1024,
        threads: int | None = None,
        columns: np.ndarray | None = None,
    ) -> np.ndarray:
        """Latent knobs z of loops given ψ draws: x_loop (B, F), ψ (S, 2K) → (S, B, K).

        Draw s of every loop is conditioned on ψ draw s (joint posterior draws). The work
        runs in chunks of about ``chunk_rows`` (draw, loop) pairs (bounded memory); chunk c
        is seeded by ``SeedSequence([seed, c])``, so the result depends on ``chunk_rows``.
        Small chunks are faster: every row has its own triangular factor per mixture
        component, and about 10³ rows keep those tensors small (1 000 loops × 100 draws:
        1.1 s in 1 024-row chunks, 1.6 s in 4 096, 2.0 s in 16 384, with
        :func:`~technorhythm.inference.mdn.mdn_sampler`). ``threads``: torch threads for the
        loop network (None: its saved setting, 1). ``columns``: the knobs needed (None: all);
        the loop network may leave knobs before the first of them NaN
        (:meth:`ConditionalFlow.sample`'s ``first``), the others equal to a full draw's to
        float32 rounding.
        """
        self._check_fitted()
        x_loop = np.asarray(x_loop, dtype=np.float64)
        psi = np.atleast_2d(np.asarray(psi, dtype=np.float64))
        s, b = len(psi), len(x_loop)
        base = _seed_int(seed)
        first = 0 if columns is None or not len(columns) else int(np.min(columns))
        per = max(1, int(chunk_rows) // max(b, 1))
        out = []
        for c, start in enumerate(range(0, s, per)):
            part = psi[start : start + per]
            cond = loop_condition_grid(x_loop, part, self.population)
            chunk_seed = int(np.random.SeedSequence([base, c]).generate_state(1)[0])
            u = self.loop_.sample(cond, 1, seed=chunk_seed, threads=threads, first=first)[0]
            out.append(self._z_knob(u).reshape(len(part), b, -1))
        return np.concatenate(out)

    def sample_loops(
        self,
        x_loop: np.ndarray,
        psi: np.ndarray,
        *,
        seed: int | np.random.Generator,
        threads: int | None = None,
        columns: np.ndarray | None = None,
    ) -> np.ndarray:
        """Knobs θ_i = clip(z_i) of loops given ψ draws → (S, B, K), knob units.

        ``threads``: torch threads for the loop network (None: its saved setting).
        ``columns``: the knobs needed (None: all); see :meth:`sample_latent`."""
        z = self.sample_latent(x_loop, psi, seed=seed, threads=threads, columns=columns)
        return self.population.clip(z)

    # -- persistence ---------------------------------------------------------------------
    def save(self, directory: str | Path, *, overwrite: bool = False) -> Path:
        """Write the model folder (see :mod:`technorhythm.inference.population_io`)."""
        from technorhythm.inference.population_io import save_population

        return save_population(self, directory, overwrite=overwrite)

    @classmethod
    def load(cls, directory: str | Path) -> PopulationEstimator:
        """Load a model folder; refuses on a version-hash mismatch or a tampered file."""
        from technorhythm.inference.population_io import load_population

        return load_population(directory)

    @classmethod
    def from_state(
        cls,
        params: Mapping[str, Any],
        pack: FlowEnsemble,
        loop: ConditionalFlow,
        **fitted: Any,
    ) -> PopulationEstimator:
        """A trained estimator from its parameters, its pack network(s) and loop network."""
        estimator = cls(**params)
        if len(pack) != estimator._n_members():
            raise ValueError(
                f"the parameters name {estimator._n_members()} pack networks; got {len(pack)}"
            )
        estimator.pack_, estimator.loop_ = pack, loop
        estimator.x_dim_ = int(pack.c_dim_)
        estimator.loop_dim_ = int(loop.c_dim_) - 2 * estimator.population.n_knobs
        for key, value in fitted.items():
            setattr(estimator, key, value)
        return estimator

    def __repr__(self) -> str:
        members = "" if self.pack_members == 1 else f", pack_members={self.pack_members}"
        return f"PopulationEstimator(K={self.population.n_knobs}, seed={self.seed}{members})"
