"""An equal mixture of independently trained conditional flows (a deep ensemble).

Networks trained on the same simulations with different seeds make errors that differ
between them; their equal mixture q(t | c) = (1/M) Σ_m q_m(t | c) averages those errors out
(sbi's ``EnsemblePosterior`` does the same for sbi posteriors). docs/inference.md measures
what it does to the pack network's calibration.

:class:`FlowEnsemble` has the interface of the
:class:`~technorhythm.inference.flows.ConditionalFlow` it is made of (``sample``,
``log_prob``, ``torch_threads``), so an estimator holds one flow or several the same way. A
one-member ensemble draws exactly what its flow draws with the same seed.
:func:`fit_flows` trains several flows on one data set, in parallel processes if asked;
each flow's weights depend only on its own seed and thread count, not on the process it ran
in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from technorhythm.inference.estimator import _seed_int
from technorhythm.inference.flows import SAMPLE_CHUNK, ConditionalFlow

__all__ = ["FlowEnsemble", "fit_flows"]


def _child_seed(seed: int, *key: int) -> int:
    """A 62-bit seed derived from ``seed`` and a non-negative ``key``."""
    state = np.random.SeedSequence([int(seed), *key]).generate_state(2, np.uint32)
    return int(state[0]) << 30 | int(state[1]) >> 2


class FlowEnsemble:
    """Equal mixture of trained :class:`ConditionalFlow` members (same target and condition).

    Parameters
    ----------
    members : sequence of ConditionalFlow
        Trained flows with the same target and condition sizes.
    """

    def __init__(self, members: Sequence[ConditionalFlow]) -> None:
        members = tuple(members)
        if not members:
            raise ValueError("an ensemble needs at least one trained flow")
        dims = {(int(m.t_dim_), int(m.c_dim_)) for m in members}
        if len(dims) != 1:
            raise ValueError(f"the members disagree on (target, condition) sizes: {sorted(dims)}")
        self.members = members

    def __len__(self) -> int:
        return len(self.members)

    @property
    def torch_threads(self) -> int | None:
        """torch threads of the members while sampling."""
        return self.members[0].torch_threads

    @torch_threads.setter
    def torch_threads(self, value: int | None) -> None:
        for member in self.members:
            member.torch_threads = value

    @property
    def t_dim_(self) -> int:
        return int(self.members[0].t_dim_)

    @property
    def c_dim_(self) -> int:
        return int(self.members[0].c_dim_)

    @property
    def history_(self) -> dict[str, Any]:
        """The first member's training history (each member's: ``members[m].history_``)."""
        return self.members[0].history_

    @property
    def training_time_s_(self) -> float:
        """Training time summed over the members (CPU-bound work, whatever ran in parallel)."""
        return float(sum(m.training_time_s_ for m in self.members))

    def counts(self, n: int) -> np.ndarray:
        """Draws per member for ``n`` draws: as equal as integers allow, the first ones more."""
        m = len(self.members)
        return np.full(m, int(n) // m) + (np.arange(m) < int(n) % m)

    def sample(
        self,
        c: np.ndarray,
        n: int,
        *,
        seed: int | np.random.Generator,
        chunk: int = SAMPLE_CHUNK,
        threads: int | None = None,
    ) -> np.ndarray:
        """``n`` draws of the mixture for each condition row (B, D) → (n, B, P).

        Member m gives ``counts(n)[m]`` draws (a stratified draw of the equal mixture); their
        order is shuffled per condition row, so any leading subset is a mixture too. One
        member: exactly :meth:`ConditionalFlow.sample` with ``seed``.
        """
        if isinstance(n, bool) or int(n) < 1:
            raise ValueError(f"the number of draws must be a positive integer; got {n!r}")
        if len(self.members) == 1:
            return self.members[0].sample(c, n, seed=seed, chunk=chunk, threads=threads)
        base = _seed_int(seed)
        parts = [
            member.sample(c, int(k), seed=_child_seed(base, 7, j), chunk=chunk, threads=threads)
            for j, (member, k) in enumerate(zip(self.members, self.counts(n), strict=True))
            if k
        ]
        draws = np.concatenate(parts, axis=0)  # (n, B, P)
        rng = np.random.default_rng(_child_seed(base, 8))
        order = np.argsort(rng.random(draws.shape[:2]), axis=0)
        return np.take_along_axis(draws, order[..., None], axis=0)

    def log_prob(self, t: np.ndarray, c: np.ndarray) -> np.ndarray:
        """log of the mixture density, log (1/M) Σ_m q_m(t | c): t (n, B, P), c (B, D) → (n, B)."""
        from scipy.special import logsumexp

        lps = np.stack([member.log_prob(t, c) for member in self.members])
        return logsumexp(lps, axis=0) - np.log(len(self.members))


def _fit_state(flow: ConditionalFlow, t: np.ndarray, c: np.ndarray):
    return flow.fit(t, c).state()


def fit_flows(
    jobs: Sequence[tuple[ConditionalFlow, np.ndarray, np.ndarray]], *, workers: int = 1
) -> list[ConditionalFlow]:
    """Train each ``(flow, targets, conditions)`` job; ``workers`` > 1 runs them in processes.

    A flow trained in a worker process comes back through its saved state
    (:meth:`ConditionalFlow.state` → :meth:`ConditionalFlow.from_state`), the same path a
    model takes through a model folder, so its weights are the ones a single-process run
    gives with the same seed and thread count.
    """
    jobs = list(jobs)
    if int(workers) <= 1 or len(jobs) == 1:
        return [flow.fit(t, c) for flow, t, c in jobs]
    import warnings

    from joblib import Parallel, delayed

    with warnings.catch_warnings():
        # loky restarts the pool that simulated the training data; nothing is lost
        warnings.filterwarnings("ignore", message="A worker stopped while some jobs")
        states = Parallel(n_jobs=min(int(workers), len(jobs)), backend="loky")(
            delayed(_fit_state)(flow, t, c) for flow, t, c in jobs
        )
    return [ConditionalFlow.from_state(tensors, record) for tensors, record in states]
