"""What a fitted group predicts: knob settings for sets of loops, under the population model.

Both models here have the interface of :class:`technorhythm.posteriors.checks.PredictiveModel`
(``draw(n_sets, n_clips, rng) -> (n_sets · n_clips, K)``, set-major), which the posterior
predictive checks use:

* :class:`PopulationPredictive` — one pack: each set takes one hyperparameter draw ψ from
  the pack's posterior, and each of its loops its own θ_i = clip(Normal(loc, spread)).
  Replicated packs therefore vary the way the pack's loops vary, and a replicated pack's
  spread carries the posterior uncertainty about ψ. Knobs read from the pack's own loops
  (the velocity, timing and onset knobs, read from the hits: ``reads``) are not drawn from
  the normal: each new loop takes the reads of one of the pack's loops, together, so the
  pack's loops are the population of velocity and timing *designs* and snare, hat and
  cymbal parts (levels, accent, jitter, swing and pushes, backbeat, ghost, hat and cymbal
  chances as one real loop plays them), with Bayesian-bootstrap weights per set.
* :class:`CorpusPredictive` — a corpus as packs within the corpus: each set takes one ψ
  draw of *every* pack, and its loops are shared out among the packs in proportion to
  their sizes. A corpus of two very different packs is predicted as both modes, not as
  one wide population between them.
* :class:`LoopPredictive` — the group's own loops again, each with knobs from a draw of
  its own posterior p(θ_i | loop, pack) (the "same units" replication of hierarchical
  posterior predictive checks). Every real loop keeps its combination of knobs; the
  checks of ``fit`` use the population models above, this one serves
  ``technorhythm generate --knobs loops`` and ``benchmarks/predictive_kinds.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from technorhythm.inference.population import Population

__all__ = ["PopulationPredictive", "CorpusPredictive", "LoopPredictive"]


@dataclass(frozen=True)
class PopulationPredictive:
    """Sets of loops from one group's population posterior.

    ``hyper`` (S, 2K): hyperparameter draws in knob units; ``population``: the family;
    ``reads`` (B, K), optional: knob values read from each of the group's B loops (estimates,
    possibly beyond a knob's range), NaN where a loop was not read for a knob
    (:func:`technorhythm.inference.hit_blocks.pack_reads`), with their standard errors
    ``read_se`` (B, K; None: exact). Reads without any value are dropped (every knob then
    comes from the population).
    """

    hyper: np.ndarray
    population: Population
    reads: np.ndarray | None = None
    read_se: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.reads is None:
            object.__setattr__(self, "read_se", None)
            return
        reads = np.asarray(self.reads, dtype=np.float64)
        if np.isinf(reads).any():
            raise ValueError("reads must be finite (NaN: not read)")
        if reads.size and not np.isfinite(reads).any():
            object.__setattr__(self, "reads", None)
            object.__setattr__(self, "read_se", None)
            return
        if reads.ndim != 2 or reads.shape[1] != self.population.n_knobs or not len(reads):
            raise ValueError(
                f"reads must be (B ≥ 1, K={self.population.n_knobs}) knob values; got {reads.shape}"
            )
        se = np.zeros_like(reads) if self.read_se is None else np.asarray(self.read_se, float)
        if se.shape != reads.shape or (np.isfinite(reads) & ~(se >= 0)).any():
            raise ValueError("read_se must be (B, K) like reads, ≥ 0 wherever a knob was read")
        object.__setattr__(self, "reads", reads)
        object.__setattr__(self, "read_se", np.where(np.isfinite(reads), se, 0.0))

    def draw(self, n_sets: int, n_clips: int, rng: np.random.Generator) -> np.ndarray:
        """θ for ``n_sets`` sets of ``n_clips`` loops, shape (n_sets · n_clips, K), set-major.

        With ``reads``, every set takes Bayesian-bootstrap weights over the group's loops,
        and each of its new loops the knobs of one loop drawn with them: for every knob that
        loop was read for, a draw of the loop's own value given its read (standard error
        ``read_se``) and the set's population (ψ draw), the normal partial-pooling posterior
        clipped to the knob's range. A raw read would add its estimation noise to the pack's
        spread, and its posterior mean would take some away; the draw keeps both right.
        """
        rows = rng.integers(0, len(self.hyper), size=int(n_sets))
        theta = self.population.sample_loops(self.hyper[rows], int(n_clips), rng)
        if self.reads is None:
            return theta
        b = len(self.reads)
        weights = rng.dirichlet(np.ones(b), size=int(n_sets))  # (n_sets, B)
        u = rng.random((int(n_sets), int(n_clips)))
        cumulative = np.cumsum(weights, axis=1)
        picks = np.stack(
            [np.searchsorted(c, row, side="right") for c, row in zip(cumulative, u, strict=True)]
        )
        picks = picks.clip(0, b - 1).reshape(-1)
        values, se = self.reads[picks], self.read_se[picks]
        loc, spread = self.population.split(np.repeat(self.hyper[rows], int(n_clips), axis=0))
        prec_pop = 1.0 / np.maximum(spread, 1e-9) ** 2
        prec_read = 1.0 / np.maximum(se, 1e-9) ** 2
        mean = (loc * prec_pop + np.nan_to_num(values) * prec_read) / (prec_pop + prec_read)
        pooled = mean + rng.standard_normal(mean.shape) / np.sqrt(prec_pop + prec_read)
        # an exact read (se 0) is the loop's value, even where the population says spread 0
        pooled = self.population.clip(np.where(se > 0, pooled, np.nan_to_num(values)))
        return np.where(np.isfinite(values), pooled, theta)

    def mean(self) -> np.ndarray:
        """Mean knob value (K,) of the loops this model makes, about: the population's
        censored-normal mean averaged over the ψ draws, and for knobs with reads the loops'
        average of their reads within the knobs' ranges (the population's mean standing in
        for a loop not read)."""
        center = self.population.mean(self.hyper).mean(axis=0)
        if self.reads is None:
            return center
        reads = self.population.clip(np.nan_to_num(self.reads))
        return np.where(np.isfinite(self.reads), reads, center).mean(axis=0)


@dataclass(frozen=True)
class CorpusPredictive:
    """Sets of loops from a corpus of packs, each pack its own population.

    ``packs``: the packs' :class:`PopulationPredictive`; ``sizes``: their loop counts
    (the shares of a replicated corpus's loops).
    """

    packs: Sequence[PopulationPredictive]
    sizes: Sequence[int]

    def __post_init__(self) -> None:
        if len(self.packs) != len(self.sizes) or not self.packs:
            raise ValueError("a corpus needs one size per pack and at least one pack")
        if min(self.sizes) < 1:
            raise ValueError("every pack needs at least one loop")

    def draw(self, n_sets: int, n_clips: int, rng: np.random.Generator) -> np.ndarray:
        """θ for ``n_sets`` sets of ``n_clips`` loops, shape (n_sets · n_clips, K), set-major.

        Within a set, the loops of one pack share that pack's ψ draw; the order of the
        loops inside a set is shuffled.
        """
        share = np.asarray(self.sizes, dtype=np.float64)
        share /= share.sum()
        out = []
        for _ in range(int(n_sets)):
            counts = rng.multinomial(int(n_clips), share)
            parts = [
                pack.draw(1, int(c), rng) for pack, c in zip(self.packs, counts, strict=True) if c
            ]
            theta = np.concatenate(parts)
            out.append(theta[rng.permutation(len(theta))])
        return np.concatenate(out)


@dataclass(frozen=True)
class LoopPredictive:
    """The group's own loops again: ``loops`` (S, B, K) per-loop posterior draws, knob units.

    A set of ``n_clips`` loops takes one posterior draw s and the loops in a random order
    (each once while ``n_clips`` ≤ B, then again), so a replicated set is the group with
    every loop's knobs redrawn from its own posterior.
    """

    loops: np.ndarray
    """(S, B, K) draws, or any object with that ``shape`` indexed as ``loops[s, rows]``."""

    def __post_init__(self) -> None:
        shape = tuple(getattr(self.loops, "shape", ()))
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"loops must be per-loop draws (S, B, K) with S, B ≥ 1; got {shape}")

    def draw(self, n_sets: int, n_clips: int, rng: np.random.Generator) -> np.ndarray:
        """θ for ``n_sets`` sets of ``n_clips`` loops, shape (n_sets · n_clips, K), set-major."""
        s, b, _ = self.loops.shape
        out = []
        for _ in range(int(n_sets)):
            rows = np.concatenate([rng.permutation(b) for _ in range(-(-int(n_clips) // b))])
            out.append(self.loops[rng.integers(0, s), rows[: int(n_clips)]])
        return np.concatenate(out)
