"""What both blocks read from a loop's hits, and the censored normal's tail they share.

:class:`LoopReads` holds per-loop estimates of a block of knobs
(:mod:`technorhythm.inference.velocity_block`, :mod:`technorhythm.inference.timing_block`);
:func:`normal_tail` gives the moments of a normal beyond an edge, which both readers' EM
needs for values recorded at a limit (a velocity of 127, an offset at the simulator's clip).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr

__all__ = ["LoopReads", "normal_tail", "row_index"]


@dataclass(frozen=True)
class LoopReads:
    """Per-loop maximum-likelihood estimates of a block of knobs.

    Attributes
    ----------
    estimate : ndarray (N, J)
        Knob values in the block's column order (the reader's ``*_KNOBS``), knob units.
    se : ndarray (N, J)
        Their approximate standard errors (inverse Fisher information at the estimate).
    shown : ndarray (N, J) of bool
        Whether the loop's hits inform the knob at all (a loop without open hats says
        nothing about their level; one without off-beat 16ths nothing about its swing).
    """

    estimate: np.ndarray
    se: np.ndarray
    shown: np.ndarray

    def __len__(self) -> int:
        return len(self.estimate)

    def __getitem__(self, index) -> LoopReads:
        return LoopReads(self.estimate[index], self.se[index], self.shown[index])


def row_index(index):
    """The rows that ``index`` selects of reads (N, J), or None where it selects columns too:
    what subclasses that keep per-loop extras (hits, bars) slice them by."""
    if isinstance(index, tuple) and len(index) > 1:
        return None
    return index[0] if isinstance(index, tuple) else index


def normal_tail(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A standard normal beyond ``a`` (the edge's standardised distance into the tail):
    ``(log P(Z > a), λ, ρ)`` with λ = φ(a) / P(Z > a) the inverse Mills ratio, so that a
    normal N(m, s²) known to lie beyond an edge at m + s·a has mean m + s·λ and variance
    s²·ρ, ρ = 1 + a·λ − λ²."""
    a = np.asarray(a, dtype=np.float64)
    log_tail = log_ndtr(-a)
    lam = np.exp(-0.5 * a * a - 0.5 * np.log(2 * np.pi) - log_tail)
    return log_tail, lam, 1 + a * lam - lam * lam
