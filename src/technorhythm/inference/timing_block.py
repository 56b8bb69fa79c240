"""The timing knobs of a loop, read from its hits through their likelihood.

Given where a loop's hits are, the simulator's timing rule is closed-form
(:mod:`technorhythm.simulator.reference`): the offset of a hit on instrument row ``r`` and
step ``s``, in 16th steps, is ``push_r + swing_16 · [s odd] + humanize · z``, clipped to
±:data:`~technorhythm.simulator.reference.OFFSET_LIMIT`, with ``push_r`` = ``push_ms`` for
the kick and the snare and ``hat_push_ms`` for the hats and cymbals, and ``push_ms``,
``hat_push_ms`` and ``humanize_ms`` converted from ms at the clip's tempo. So a loop's four
timing knobs (:data:`TIMING_KNOBS`) have a likelihood: a linear regression of the offsets
on three columns (kick or snare, hat or cymbal, off-beat 16th) with Gaussian noise, censored
at the offset limit (a Tobit regression). :func:`read_timing` maximises it per loop by EM.

A coefficient the loop's hits cannot separate from the others (no off-beat 16th hits: no
swing; hats only on off-beat 16ths: their push and the swing are one number) is not *shown*
(:class:`~technorhythm.inference.loop_reads.LoopReads`), nor is the noise of a loop with
no more hits than coefficients. The pack's block and each loop's own knobs follow from the
reads exactly as the velocity block's do (:mod:`technorhythm.inference.hit_blocks`).

Why: these knobs act on the offsets alone, which the set summaries reduce to a few
statistics; read from the hits, a pack's timing knobs come out closer to the truth than the
network reads them, and each loop's own timing is known, which new loops can then play
(``docs/inference.md``, "Timing knobs read from the hits"). The assumption, stated: the
timing knobs change no onset or velocity, so their posterior given the hits does not depend
on the rest of ψ.
"""

from __future__ import annotations

import numpy as np

from technorhythm.clips import INSTRUMENTS, N_STEPS, step_ms
from technorhythm.inference.loop_reads import LoopReads, normal_tail
from technorhythm.simulator.reference import OFFSET_LIMIT

__all__ = ["TIMING_KNOBS", "read_timing"]

TIMING_KNOBS: tuple[str, ...] = ("swing_16", "humanize_ms", "push_ms", "hat_push_ms")
"""The knobs of the timing block, in the order of :func:`read_timing`'s columns."""
_PUSHED_BY_PUSH_MS = (INSTRUMENTS.index("kick"), INSTRUMENTS.index("snare"))
MAX_INVERSE = 1e6
"""A coefficient whose entry of (XᵀX)⁻¹ exceeds this is not identified by the loop's hits."""
CENSOR_MARGIN = 1e-6
"""Offsets within this of the limit (or beyond it, in real clips) count as censored there."""


def _template() -> np.ndarray:
    """Design row of every cell (5·64, 3): kick or snare, hat or cymbal, odd step."""
    rows = np.repeat(np.arange(len(INSTRUMENTS)), N_STEPS)
    steps = np.tile(np.arange(N_STEPS), len(INSTRUMENTS))
    kick_snare = np.isin(rows, _PUSHED_BY_PUSH_MS).astype(np.float64)
    return np.stack([kick_snare, 1.0 - kick_snare, (steps % 2).astype(np.float64)], axis=-1)


_TEMPLATE = _template()
_OUTER = np.einsum("ij,ik->ijk", _TEMPLATE, _TEMPLATE).reshape(len(_TEMPLATE), 9)


def _inverse_gram(hit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(XᵀX)⁻¹ per loop (hit mask (n, cells)) with a tiny ridge, and which coefficients the
    hits identify. A loop's design is the template's rows of its hits, so XᵀX = Σ outer."""
    gram = (hit.astype(np.float64) @ _OUTER).reshape(len(hit), 3, 3)
    inv = np.linalg.inv(gram + 1e-9 * np.eye(3))
    return inv, np.diagonal(inv, axis1=1, axis2=2) < MAX_INVERSE


def _tail_moments(
    mu: np.ndarray, sd: np.ndarray, high: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of an unclipped offset N(mu, sd²) given that it lies beyond the
    upper limit (``high``) or the lower one (else), per censored cell."""
    s = np.maximum(sd, 1e-12)
    sign = np.where(high, 1.0, -1.0)  # mirror the lower tail onto the upper one
    # the standardised limit, bounded so that no square or exponential overflows (a loop
    # with no noise left has s at its floor); 40 sd is as far as a tail matters
    a = np.clip((OFFSET_LIMIT - sign * mu) / s, -40.0, 40.0)
    _, lam, rho = normal_tail(a)
    return mu + sign * s * lam, np.maximum(s * s * rho, 0.0)


def _em(inv, hit, y, censored, high, dof, n_iter: int) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (n, 3) and noise sd (n,) of loops by EM over their censored offsets
    (``censored`` cells; ``high``: on the upper limit), a single least-squares pass when none
    is. The offsets are 0 off the hits, so Xᵀy is y times the template."""
    target, extra = y, np.zeros(len(y))
    rows, cells = np.nonzero(censored)
    for _ in range(max(int(n_iter), 1)):
        beta = np.einsum("njk,nk->nj", inv, target @ _TEMPLATE)
        mu = (beta @ _TEMPLATE.T) * hit
        sd = np.sqrt((((target - mu) ** 2).sum(axis=1) + extra) / dof)
        if not len(rows):
            break
        mean, var = _tail_moments(mu[rows, cells], sd[rows], high[rows, cells])
        target = y.copy()
        target[rows, cells] = mean
        extra = np.bincount(rows, var, minlength=len(y))
    return beta, sd


def _read_chunk(offset: np.ndarray, velocity: np.ndarray, n_iter: int):
    """Coefficients, noise sd, (XᵀX)⁻¹'s diagonal, identified coefficients, hits and degrees
    of freedom of a chunk of loops; EM runs for the loops with a censored offset only."""
    hit = (np.asarray(velocity) > 0).reshape(len(velocity), -1)
    y = np.where(hit, np.asarray(offset, dtype=np.float64).reshape(len(hit), -1), 0.0)
    high = hit & (y >= OFFSET_LIMIT - CENSOR_MARGIN)
    censored = high | (hit & (y <= -OFFSET_LIMIT + CENSOR_MARGIN))
    inv, identified = _inverse_gram(hit)
    n_hits = hit.sum(axis=1)
    dof = np.maximum(n_hits - identified.sum(axis=1), 1)
    beta, sd = _em(inv, hit, y, np.zeros_like(censored), high, dof, 1)
    c = censored.any(axis=1)
    if c.any():
        beta[c], sd[c] = _em(inv[c], hit[c], y[c], censored[c], high[c], dof[c], n_iter)
    return beta, sd, np.diagonal(inv, axis1=1, axis2=2), identified, n_hits, dof


def read_timing(
    offset: np.ndarray,
    velocity: np.ndarray,
    bpm: np.ndarray,
    *,
    n_iter: int = 30,
    chunk: int = 2048,
) -> LoopReads:
    """Maximum-likelihood timing knobs of each loop (see the module docstring).

    Parameters
    ----------
    offset, velocity : ndarray (N, 5, 64)
        Canonical clip offsets (16th steps) and velocities (0: no hit), as ``ClipBatch``'s.
    bpm : ndarray (N,)
        Each clip's tempo (the knobs in ms are converted at it).
    n_iter : int
        EM iterations for a loop with censored offsets, the same for every such loop (a
        loop's read does not depend on the others read with it).
    chunk : int
        Loops read at once: memory stays bounded (a few kB per loop of a chunk) whatever N.

    Returns
    -------
    LoopReads
        Columns :data:`TIMING_KNOBS`: ``swing_16`` in steps, ``humanize_ms``, ``push_ms`` and
        ``hat_push_ms`` in ms, not clipped to the knobs' ranges.
    """
    offset, velocity = np.asarray(offset), np.asarray(velocity)
    parts = [
        _read_chunk(offset[i : i + chunk], velocity[i : i + chunk], n_iter)
        for i in range(0, len(velocity), max(int(chunk), 1))
    ]
    if not parts:
        empty = np.zeros((0, len(TIMING_KNOBS)))
        return LoopReads(empty, empty, empty.astype(bool))
    beta, sd, inv_diag, identified, n_hits, dof = (
        np.concatenate(p) for p in zip(*parts, strict=True)
    )
    ms = np.asarray(step_ms(np.asarray(bpm, dtype=np.float64)), dtype=np.float64)
    se_beta = sd[:, None] * np.sqrt(inv_diag)
    se_sd = sd / np.sqrt(2.0 * dof)
    estimate = np.column_stack([beta[:, 2], sd * ms, beta[:, 0] * ms, beta[:, 1] * ms])
    se = np.column_stack([se_beta[:, 2], se_sd * ms, se_beta[:, 0] * ms, se_beta[:, 1] * ms])
    shown = np.column_stack(
        [identified[:, 2], n_hits > identified.sum(axis=1), identified[:, 0], identified[:, 1]]
    )
    return LoopReads(estimate, np.where(shown, np.maximum(se, 1e-9), np.inf), shown)
