"""Knobs read as estimates whose pack sits in a dead zone: their population on a grid.

The velocity jitters, ``swing_16`` and ``humanize_ms`` act as exactly 0 below a width
(:data:`~technorhythm.simulator.patterns.SNAPPED`: 1.5, 0.012, 1.5 ms): a loop whose jitter
is 0.3 plays what one at 1.2 plays, and its read is about 0 with a small standard error. The
velocity and timing blocks pool such reads by the Bayesian bootstrap of a robust censored fit
(:func:`~technorhythm.inference.hit_blocks.censored_location_spread`), which takes them as
exact: a pack whose loops all sit in the zone read its location at about 0 ± a little, and
the truth anywhere in [0, 1.5) was missed (the jitters' 90 % intervals covered 0.62–0.87 of
their truths at 256 loops, 78–100 % of the misses in the zone).

What such a read says is that the loop's *acting* value is about its estimate: its
likelihood of a knob value θ is ``N(estimate; snap(θ), se)``, flat over the zone. The same
holds at the upper bound, where a loop's value is clipped: a pack of swing 0.43 ± 0.02 has
most of its loops at 0.45, read exactly, and the robust fit put every draw at 0.45 with
spread 0. Where at least :data:`ZONE_SHARE` of a pack's loops read inside the zone or on the
upper bound, the block draws that knob's population from these likelihoods on the grid of
:mod:`~technorhythm.inference.grid_pool` instead (whose populations are censored to the
range), under the population model's hyperprior (whose packs may be at rest in the zone):
every population that keeps the pack's loops where they read is then about as likely as the
hyperprior makes it. Elsewhere the bootstrap stays: its resolution is finer than the grid's
(a location step of 1/80 of the range plus margins, 0.75 velocity units for a jitter), and
with fewer than a quarter of the loops in the zone its median and median absolute deviation
do not reach them.
"""

from __future__ import annotations

import numpy as np

from technorhythm.inference.grid_pool import GRID, GridReads, cell_log_prior
from technorhythm.inference.loop_reads import LoopReads
from technorhythm.simulator import patterns as pt

__all__ = ["ZONE_SHARE", "MISREAD_SHARE", "zone_width", "in_zone", "zone_reads"]

ZONE_SHARE = 0.25
"""Least share of a pack's loops that show a knob and read inside its dead zone or on its
upper bound for the knob's population to be drawn on the grid (the share of a bound at
which the robust fit turns to tail probabilities, :func:`~technorhythm.inference.
hit_blocks.censored_location_spread`)."""


MISREAD_SHARE = 0.01
"""Share of reads taken as saying nothing (a uniform over the range): a read's standard error
is that of its estimate's noise, not of the odd misread. A pack of 256 loops at rest in the
kick's zone (jitter 0.59–0.91) had one loop read 1.02 ± 0.04; without this share that one
read made every population with a tail above the zone 10 nats likelier than the pack's own,
and the 256-loop pack read 0.03 ± 0.05 for 0.74."""


def zone_width(knob: str, low: float) -> float | None:
    """The width of ``knob``'s dead zone at 0 when the knob has one and its range starts
    there (``low`` 0: the grid's knobs start at 0); None otherwise (the pushes' zones lie
    inside their range, which the grid does not keep)."""
    width = pt.SNAPPED.get(knob)
    return None if width is None or low != 0 else float(width)


def in_zone(estimate: np.ndarray, width: float) -> np.ndarray:
    """Which reads say the loop plays the knob as 0: estimates below half the width (the
    nearest value the knob acts with is 0 or the width itself)."""
    return np.asarray(estimate) < width / 2


def zone_reads(reads: LoopReads, column: int, width: float, high: float) -> GridReads:
    """One column of ``reads`` as a likelihood on :data:`~technorhythm.inference.grid_pool.
    GRID` × ``high``: per loop ``(1 − ε) N(estimate; snap(θ, width), se) + ε / high`` (flat
    over the zone; ε = :data:`MISREAD_SHARE`; ``se`` at least half the grid's step), with
    the hyperprior of a knob whose packs may rest in its zone
    (:func:`~technorhythm.inference.grid_pool.cell_log_prior`)."""
    shown = reads.shown[:, column]
    acting = pt.snap(GRID * high, width)  # (X,)
    e = np.where(shown, reads.estimate[:, column], 0.0)[:, None]
    # at least half the grid's step: an exact read (swing without humanize, se 0) falls
    # between grid values, which must not read it as impossible
    step = (GRID[1] - GRID[0]) * high
    se = np.maximum(np.where(shown, reads.se[:, column], 1.0), step / 2)[:, None]
    read = np.exp(-0.5 * ((e - acting) / se) ** 2) / (np.sqrt(2 * np.pi) * se)
    loglik = np.where(
        shown[:, None], np.log((1 - MISREAD_SHARE) * read + MISREAD_SHARE / high), 0.0
    )
    log_prior = cell_log_prior(np.array([0.0]), width / high)
    return GridReads.from_loglik(
        loglik[:, None, :], shown[:, None], np.array([high]), log_prior[None]
    )
