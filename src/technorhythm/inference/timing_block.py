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
(:class:`~technorhythm.inference.velocity_block.LoopReads`), nor is the noise of a loop with
no more hits than coefficients. The pack's block and each loop's own knobs follow from the
reads exactly as the velocity block's do (:mod:`technorhythm.inference.hit_blocks`).

Why: these knobs act on the offsets alone, which the set summaries reduce to a few
statistics; the hits pin a loop's push and swing to a fraction of a millisecond where a
network reads them to several. The assumption, stated: the timing knobs change no onset or
velocity, so their posterior given the hits does not depend on the rest of ψ.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr

from technorhythm.clips import INSTRUMENTS, N_STEPS, step_ms
from technorhythm.inference.velocity_block import LoopReads
from technorhythm.simulator.reference import OFFSET_LIMIT

__all__ = ["TIMING_KNOBS", "read_timing"]

TIMING_KNOBS: tuple[str, ...] = ("swing_16", "humanize_ms", "push_ms", "hat_push_ms")
"""The knobs of the timing block, in the order of :func:`read_timing`'s columns."""
_PUSHED_BY_PUSH_MS = (INSTRUMENTS.index("kick"), INSTRUMENTS.index("snare"))
MAX_INVERSE = 1e6
"""A coefficient whose entry of (XᵀX)⁻¹ exceeds this is not identified by the loop's hits."""
CENSOR_MARGIN = 1e-6
"""Offsets within this of the limit (or beyond it, in real clips) count as censored there."""


def _design(velocity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hit mask (N, 5·64) and design (N, 5·64, 3): kick or snare, hat or cymbal, odd step."""
    hit = (np.asarray(velocity) > 0).reshape(len(velocity), -1)
    rows = np.repeat(np.arange(len(INSTRUMENTS)), N_STEPS)
    steps = np.tile(np.arange(N_STEPS), len(INSTRUMENTS))
    kick_snare = np.isin(rows, _PUSHED_BY_PUSH_MS).astype(np.float64)
    x = np.stack([kick_snare, 1.0 - kick_snare, (steps % 2).astype(np.float64)], axis=-1)
    return hit, np.broadcast_to(x, (len(hit), *x.shape)) * hit[..., None]


def _inverse_gram(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(XᵀX)⁻¹ per loop with a tiny ridge, and which coefficients the hits identify."""
    gram = np.einsum("nij,nik->njk", x, x)
    inv = np.linalg.inv(gram + 1e-9 * np.eye(3))
    return inv, np.diagonal(inv, axis1=1, axis2=2) < MAX_INVERSE


def _censored_moments(
    y: np.ndarray, mu: np.ndarray, sd: np.ndarray, high: np.ndarray, low: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of the unclipped offset given the observed one: itself (variance 0)
    inside the limits, the normal's tail mean and variance beyond a limit it sits on."""
    s = np.maximum(sd, 1e-12)
    # standardised limits, bounded so that no square or exponential overflows (a loop with
    # no noise left has s at its floor); 40 standard deviations is as far as a tail matters
    a = np.clip((OFFSET_LIMIT - mu) / s, -40.0, 40.0)  # the upper tail starts here
    b = np.clip((-OFFSET_LIMIT - mu) / s, -40.0, 40.0)  # the lower tail ends here
    lam_hi = np.exp(-0.5 * a * a - 0.5 * np.log(2 * np.pi) - log_ndtr(-a))
    lam_lo = np.exp(-0.5 * b * b - 0.5 * np.log(2 * np.pi) - log_ndtr(b))
    mean = np.where(high, mu + s * lam_hi, np.where(low, mu - s * lam_lo, y))
    var_hi = s * s * (1 + a * lam_hi - lam_hi * lam_hi)
    var_lo = s * s * (1 - b * lam_lo - lam_lo * lam_lo)
    var = np.where(high, var_hi, np.where(low, var_lo, 0.0))
    return mean, np.maximum(var, 0.0)


def read_timing(
    offset: np.ndarray, velocity: np.ndarray, bpm: np.ndarray, *, n_iter: int = 30
) -> LoopReads:
    """Maximum-likelihood timing knobs of each loop (see the module docstring).

    Parameters
    ----------
    offset, velocity : ndarray (N, 5, 64)
        Canonical clip offsets (16th steps) and velocities (0: no hit), as ``ClipBatch``'s.
    bpm : ndarray (N,)
        Each clip's tempo (the knobs in ms are converted at it).
    n_iter : int
        EM iterations for the censored offsets, the same for every loop (a loop's read does
        not depend on the others read with it).

    Returns
    -------
    LoopReads
        Columns :data:`TIMING_KNOBS`: ``swing_16`` in steps, ``humanize_ms``, ``push_ms`` and
        ``hat_push_ms`` in ms, not clipped to the knobs' ranges.
    """
    hit, x = _design(velocity)
    y = np.where(hit, np.asarray(offset, dtype=np.float64).reshape(len(hit), -1), 0.0)
    high = hit & (y >= OFFSET_LIMIT - CENSOR_MARGIN)
    low = hit & (y <= -OFFSET_LIMIT + CENSOR_MARGIN)
    inv, identified = _inverse_gram(x)
    n_hits = hit.sum(axis=1)
    dof = np.maximum(n_hits - identified.sum(axis=1), 1)
    target, extra = y, np.zeros_like(y)
    beta = np.zeros((len(y), 3))
    sd = np.zeros(len(y))
    for _ in range(max(int(n_iter), 1)):
        beta = np.einsum("njk,nk->nj", inv, np.einsum("nij,ni->nj", x, target))
        mu = np.einsum("nij,nj->ni", x, beta)
        resid = np.where(hit, target - mu, 0.0)
        sd = np.sqrt(((resid**2).sum(axis=1) + extra.sum(axis=1)) / dof)
        if not (high.any() or low.any()):
            break
        target, extra = _censored_moments(y, mu, sd[:, None], high, low)
        target, extra = np.where(hit, target, 0.0), np.where(hit, extra, 0.0)
    ms = np.asarray(step_ms(np.asarray(bpm, dtype=np.float64)), dtype=np.float64)
    se_beta = sd[:, None] * np.sqrt(np.diagonal(inv, axis1=1, axis2=2))
    se_sd = sd / np.sqrt(2.0 * dof)
    estimate = np.column_stack([beta[:, 2], sd * ms, beta[:, 0] * ms, beta[:, 1] * ms])
    se = np.column_stack([se_beta[:, 2], se_sd * ms, se_beta[:, 0] * ms, se_beta[:, 1] * ms])
    shown = np.column_stack(
        [identified[:, 2], n_hits > identified.sum(axis=1), identified[:, 0], identified[:, 1]]
    )
    return LoopReads(estimate, np.where(shown, np.maximum(se, 1e-9), np.inf), shown)
