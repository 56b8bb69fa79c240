"""Knobs read as estimates whose pack sits in a dead zone or on a bound: their population on
a grid.

The velocity jitters, ``swing_16``, ``humanize_ms`` and the pushes act as exactly 0 within a
width of 0 (:data:`~technorhythm.simulator.patterns.SNAPPED`: 1.5, 0.012, 1.5 ms, 1.5 ms): a
loop whose jitter is 0.3 plays what one at 1.2 plays, and its read is about 0 with a small
standard error. The velocity and timing blocks pool such reads by the Bayesian bootstrap of a
robust censored fit (:func:`~technorhythm.inference.censored_fit.censored_location_spread`),
which takes them as exact: a pack whose loops all sit in the zone read its location at about
0 ± a little, and the truth anywhere in the zone was missed (the jitters' 90 % intervals
covered 0.62–0.87 of their truths at 256 loops, 78–100 % of the misses in the zone; a pack
pushed 0.5 ms without humanize read 0 ± 0).

What such a read says is that the loop's *acting* value is about its estimate: its
likelihood of a knob value θ is ``N(estimate; snap(θ), se)``, flat over the zone. The same
holds at a bound, where a loop's value is clipped: a pack of swing 0.43 ± 0.02 has most of
its loops at 0.45, read exactly, and the robust fit put every draw at 0.45 with spread 0; so
for every knob the blocks read as estimates, with a zone or not (a velocity level piled on
127). Where at least :data:`ZONE_SHARE` of a pack's loops read inside the zone or pinned on
a bound, the block draws that knob's population from these likelihoods on the grid of
:mod:`~technorhythm.inference.grid_pool` instead (whose populations are censored to the
range; a push's grid starts at its lower bound), under the population model's hyperprior
(whose packs may be at rest in the zone): every population that keeps the pack's loops where
they read is then about as likely as the hyperprior makes it. Elsewhere the bootstrap stays:
its resolution is finer than the grid's (a location step of 1/80 of the range plus margins,
0.75 velocity units for a jitter), and with fewer than a quarter of the loops in the zone its
median and median absolute deviation do not reach them.
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
which the censored fit turns to its tail, :data:`~technorhythm.inference.censored_fit.
TAIL_SHARE`)."""


MISREAD_SHARE = 0.01
"""Share of reads taken as saying nothing (a uniform over the range): a read's standard error
is that of its estimate's noise, not of the odd misread. A pack of 256 loops at rest in the
kick's zone (jitter 0.59–0.91) had one loop read 1.02 ± 0.04; without this share that one
read made every population with a tail above the zone 10 nats likelier than the pack's own,
and the 256-loop pack read 0.03 ± 0.05 for 0.74."""


def zone_width(knob: str) -> float | None:
    """The width of ``knob``'s dead zone at 0 (:data:`~technorhythm.simulator.patterns.
    SNAPPED`), None for a knob without one."""
    width = pt.SNAPPED.get(knob)
    return None if width is None else float(width)


def in_zone(estimate: np.ndarray, width: float) -> np.ndarray:
    """Which reads say the loop plays the knob as 0: estimates within half the width of 0
    (the nearest value the knob acts with is 0, not ± the width itself)."""
    return np.abs(np.asarray(estimate)) < width / 2


def zone_reads(reads: LoopReads, column: int, width: float, low: float, high: float) -> GridReads:
    """One column of ``reads`` as a likelihood on ``low + GRID · (high − low)`` (the knob's
    range, :data:`~technorhythm.inference.grid_pool.GRID`): per loop
    ``(1 − ε) N(estimate; snap(θ, width), se) + ε / (high − low)`` (flat over the zone;
    ε = :data:`MISREAD_SHARE`; ``se`` at least half the grid's step), with the hyperprior
    of a knob whose packs may rest in its zone at 0
    (:func:`~technorhythm.inference.grid_pool.cell_log_prior`). The jitters', swing's and
    humanize's zones start their range; the pushes' lie in its middle. ``width`` 0: a knob
    without a zone (its likelihood ``N(estimate; θ, se)``, the hyperprior's uniform box)."""
    shown = reads.shown[:, column]
    span = high - low
    acting = pt.snap(low + GRID * span, width)  # (X,)
    e = np.where(shown, reads.estimate[:, column], 0.0)[:, None]
    # at least half the grid's step: an exact read (swing without humanize, se 0) falls
    # between grid values, which must not read it as impossible
    step = (GRID[1] - GRID[0]) * span
    se = np.maximum(np.where(shown, reads.se[:, column], 1.0), step / 2)[:, None]
    read = np.exp(-0.5 * ((e - acting) / se) ** 2) / (np.sqrt(2 * np.pi) * se)
    loglik = np.where(
        shown[:, None], np.log((1 - MISREAD_SHARE) * read + MISREAD_SHARE / span), 0.0
    )
    log_prior = cell_log_prior(np.array([-low / span]), width / span) if width else cell_log_prior()
    return GridReads.from_loglik(
        loglik[:, None, :], shown[:, None], np.array([span]), log_prior[None], np.array([low])
    )
