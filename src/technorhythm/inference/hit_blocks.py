"""A pack's blocks of knobs read from the hits, drawn from its loops' reads.

Four blocks (:data:`BLOCKS`): the velocity knobs, read by
:mod:`technorhythm.inference.velocity_block`, the timing knobs, read by
:mod:`technorhythm.inference.timing_block`, the onset knobs (the ramped chances of the
snare, hats and cymbals), read by :mod:`technorhythm.inference.onset_block`, and the kick's
base pulses and extra kicks, read by :mod:`technorhythm.inference.kick_block`
(:func:`read_block`). The onset and kick blocks' loops say little each, so they keep their
likelihoods on a grid and pool those (:mod:`technorhythm.inference.grid_pool`); the text
below is the other two blocks'.

The Bayesian bootstrap over the pack's source files (:func:`bootstrap_weights`), a
censored-normal location and spread of the weighted reads per draw
(:func:`~technorhythm.inference.censored_fit.censored_location_spread`), each loop's own
knobs by normal partial pooling (:func:`draw_loops`), and a group's posterior draws with
the network's draws of a block replaced (:func:`replace_block`). A knob with a dead zone
at 0 (the jitters, ``swing_16``, ``humanize_ms``) whose pack reads inside it is drawn on
the grid instead (:mod:`technorhythm.inference.dead_zone`). See the reads' module
docstrings for the models and why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from technorhythm.inference.censored_fit import BOUND_NEAR, censored_location_spread, on_bounds
from technorhythm.inference.dead_zone import ZONE_SHARE, in_zone, zone_reads, zone_width
from technorhythm.inference.grid_pool import GridReads, draw_grid_block, draw_grid_loops
from technorhythm.inference.kick_block import (
    KICK_KNOBS,
    KickBars,
    KickPack,
    KickReads,
    own_weights,
    read_kicks,
)
from technorhythm.inference.loop_reads import LoopReads, row_index
from technorhythm.inference.onset_block import ONSET_KNOBS, read_onsets
from technorhythm.inference.prior import knob_bounds
from technorhythm.inference.timing_block import TIMING_KNOBS, read_timing
from technorhythm.inference.velocity_block import VELOCITY_KNOBS, read_loops, with_kick_layers
from technorhythm.simulator import patterns as pt
from technorhythm.simulator.knobs import KNOB_NAMES

__all__ = [
    "BLOCKS",
    "READ_CHOICES",
    "blocks_to_read",
    "read_block",
    "read_blocks",
    "VelocityHits",
    "MIN_FILES",
    "MIN_LOOPS",
    "SPREAD_READS",
    "bootstrap_weights",
    "draw_block",
    "draw_loops",
    "drawn_knobs",
    "on_bounds",
    "pack_reads",
    "pack_variation",
    "pack_view",
    "pack_views",
    "replace_block",
    "replace_block_from_clips",
    "source_files",
]

BLOCKS: dict[str, tuple[str, ...]] = {
    "velocity": VELOCITY_KNOBS,
    "timing": TIMING_KNOBS,
    "onsets": ONSET_KNOBS,
    "kick": KICK_KNOBS,
}
"""The blocks of knobs that can be read from the hits, by name: the knobs of each block's
reads, in column order."""


READ_CHOICES: tuple[str, ...] = ("likelihood", "network")
"""How a fit reads a block's knobs: from the hits by their likelihood, or by the network."""


def blocks_to_read(
    velocities: str = "likelihood",
    timing: str = "likelihood",
    onsets: str = "likelihood",
    kicks: str = "likelihood",
) -> tuple[str, ...]:
    """The blocks read from the hits for the options ``velocities``, ``timing``, ``onsets``
    and ``kicks`` (each one of :data:`READ_CHOICES`), in :data:`BLOCKS` order; raises
    ``ValueError`` for another."""
    how = {"velocity": velocities, "timing": timing, "onsets": onsets, "kick": kicks}
    option = {"velocity": "velocities", "timing": "timing", "onsets": "onsets", "kick": "kicks"}
    for block, value in how.items():
        if value not in READ_CHOICES:
            raise ValueError(
                f"{option[block]} must be one of {', '.join(READ_CHOICES)}; got {value!r}"
            )
    return tuple(b for b in BLOCKS if how[b] == "likelihood")


@dataclass(frozen=True)
class VelocityHits(LoopReads):
    """The velocity block's reads of loops (:func:`~technorhythm.inference.velocity_block.
    read_loops`, each loop alone) that keep the loops' ``velocity`` (N, 5, 64) and, when the
    kick block decoded them, their kick ``bars``: a pack reads its kicks' velocities again
    given which of its kicks are base pulses (:func:`pack_view`)."""

    velocity: np.ndarray | None = None
    bars: KickBars | None = None

    def __getitem__(self, index) -> VelocityHits | LoopReads:
        part, rows = super().__getitem__(index), row_index(index)
        if rows is None:
            return part  # some columns only: no hits
        bars = None if self.bars is None else self.bars[rows]
        return VelocityHits(*_fields(part), velocity=self.velocity[rows], bars=bars)


def _fields(reads: LoopReads) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return reads.estimate, reads.se, reads.shown


def read_block(name: str, batch, per_loop: bool = True) -> LoopReads | KickBars:
    """The reads of block ``name`` (:data:`BLOCKS`) of every clip of ``batch`` (a ClipBatch).
    ``per_loop`` False: what a fit needs, reads that a pack's view completes
    (:func:`pack_view`): the kick block's loops as decoded (:class:`~technorhythm.inference.
    kick_block.KickBars`), whose reads only a pack's pooling makes, and the velocity block's
    reads with their hits (:class:`VelocityHits`), whose kicks a pack reads again given its
    kick block."""
    if name == "velocity":
        if per_loop:
            return read_loops(batch.velocity)
        reads = read_loops(batch.velocity, kicks_again=False)  # each pack reads them again
        return VelocityHits(*_fields(reads), velocity=np.asarray(batch.velocity))
    if name == "timing":
        return read_timing(batch.offset, batch.velocity, batch.bpm)
    if name == "onsets":
        return read_onsets(batch.velocity)
    if name == "kick":
        return read_kicks(batch.velocity) if per_loop else KickBars.from_velocity(batch.velocity)
    raise ValueError(f"block must be one of {', '.join(BLOCKS)}; got {name!r}")


def read_blocks(blocks: tuple[str, ...], batch) -> dict:
    """:func:`read_block` of each of ``blocks`` for a fit (``per_loop`` False). The velocity
    block's hits keep the loops' kick bars, decoded once for every pack: the kick block's
    when it is read as well."""
    reads = {b: read_block(b, batch, per_loop=False) for b in blocks}
    velocity = reads.get("velocity")
    if isinstance(velocity, VelocityHits):
        bars = reads.get("kick")
        if not isinstance(bars, KickBars):
            bars = KickBars.from_velocity(velocity.velocity)
        reads["velocity"] = VelocityHits(*_fields(velocity), velocity=velocity.velocity, bars=bars)
    return reads


SPREAD_READS: tuple[str, ...] = (*pt.JITTER_KNOBS, "humanize_ms")
"""Knobs whose reads estimate a spread (of velocities, of onset times): their noise is skewed
and their standard error grows with the read (a jitter of 30 reads 19–48 in one loop in ten
either side; a low read, with its small standard error, claims a precision it lacks), so
the censored fit on a bound keeps the quantile arithmetic for them
(:func:`~technorhythm.inference.censored_fit.censored_location_spread`)."""
MIN_LOOPS = 3
"""A knob shown by fewer loops is left to the network: one or two loops say where they are,
not how the pack's loops spread around a location."""
MIN_FILES = 3
"""With fewer source files, how much the pack's files differ cannot be measured (the
bootstrap over one or two files would treat the loops of one performance as independent
draws); the location then takes the loops' spread over √files as its uncertainty
(:func:`draw_block`): files as different as loops, the most the population allows."""


def bootstrap_weights(
    clusters: np.ndarray | None, n_loops: int, n_samples: int, rng: np.random.Generator
) -> np.ndarray:
    """Bayesian-bootstrap weights of ``n_loops`` loops, (n_samples, n_loops), rows summing
    to 1: Dirichlet(1, …, 1) over the clusters (the loops' source files), each cluster's
    weight shared equally by its loops. Loops of one file are not independent draws of the
    pack's population, so the file is the unit; with fewer than two clusters (or none
    given) each loop is its own.
    """
    if clusters is None or len(np.unique(clusters)) < 2:
        return rng.dirichlet(np.ones(n_loops), size=n_samples)
    _, inverse, counts = np.unique(clusters, return_inverse=True, return_counts=True)
    g = rng.dirichlet(np.ones(len(counts)), size=n_samples)
    return g[:, inverse] / counts[inverse]


def draw_block(
    reads: LoopReads,
    n_samples: int,
    rng: np.random.Generator,
    clusters: np.ndarray | None = None,
    knobs: tuple[str, ...] = VELOCITY_KNOBS,
    hyper: np.ndarray | None = None,
    population=None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draws of the pack's block by the Bayesian bootstrap over its loops: per
    knob the weighted median of the loops' estimates and their weighted median absolute
    deviation (module docstring). ``clusters`` (N,): each loop's source file, the
    bootstrap's unit (:func:`bootstrap_weights`).

    ``knobs``: the knobs of the reads' columns (the velocity block's, or the timing block's,
    :data:`~technorhythm.inference.timing_block.TIMING_KNOBS`). ``hyper`` (S, 2K) and
    ``population``: the pack's ψ draws of the knobs the blocks do not read (the network's),
    which the kick block's reads depend on (:func:`pack_view`).

    Returns ``(loc, spread, drawn)``: ``loc`` and ``spread`` (n_samples, J) in knob units,
    and ``drawn`` (J,) of bool: whether each knob was drawn here; a knob shown by fewer than
    :data:`MIN_LOOPS` loops is left to the caller (its entries are NaN).
    """
    reads = pack_view(reads, clusters, hyper, population)
    loc, spread, drawn, _, _ = _draw_block(reads, n_samples, rng, clusters, knobs)
    return loc, spread, drawn


VARIATION_NODES = 16
"""Loops drawn per ψ draw, at the normal's quantiles, for a pack's ``variation``."""


def pack_variation(hyper: np.ndarray, population) -> np.ndarray:
    """The ``variation`` of a pack's loops under its ψ draws (S, 2K): per draw, the
    population's :data:`VARIATION_NODES` quantiles, clipped to the knob's bounds (S·nodes,)."""
    j = population.names.index("variation")
    loc, spread = (part[:, j] for part in population.split(np.atleast_2d(hyper)))
    nodes = ndtri((np.arange(VARIATION_NODES) + 0.5) / VARIATION_NODES)
    values = loc[:, None] + np.maximum(spread, 0.0)[:, None] * nodes
    return np.clip(values, *population.bounds[j]).ravel()


def pack_view(
    reads: LoopReads,
    clusters: np.ndarray | None = None,
    hyper: np.ndarray | None = None,
    population=None,
    kick: KickPack | None = None,
) -> LoopReads:
    """A pack's reads as its block pools them: the kick block's per-knob likelihoods given
    the pack's populations of the other kick knobs
    (:meth:`~technorhythm.inference.kick_block.KickBars.conditioned`; ``clusters``: each
    loop's source file) and, when ``hyper`` (the pack's ψ draws, the network's) and
    ``population`` are given, of its loops' ``variation`` (:func:`pack_variation`: how
    often a beat decides its extra kicks alone). The velocity block's (:class:`VelocityHits`)
    with the kick's velocities read given which kicks are base pulses under the pack's kick
    block (:func:`~technorhythm.inference.velocity_block.with_kick_layers`; ``kick``: the
    pack's kick view, :class:`~technorhythm.inference.kick_block.KickPack`; None: made
    here). The other blocks' reads as they are."""
    if isinstance(reads, KickReads):
        reads = reads.bars
    if isinstance(reads, KickBars):
        log_own = None
        if hyper is not None:
            log_own = own_weights(pack_variation(hyper, population))
        return reads.conditioned(clusters, log_own=log_own)
    if isinstance(reads, VelocityHits):
        if kick is None:
            bars = reads.bars if reads.bars is not None else KickBars.from_velocity(reads.velocity)
            kick = pack_view(bars, clusters, hyper, population)
        return with_kick_layers(LoopReads(*_fields(reads)), reads.velocity, kick.base_chances())
    return reads


def pack_views(reads: dict, clusters=None, hyper=None, population=None) -> dict:
    """:func:`pack_view` of each block's reads of one pack (block → reads, as
    :func:`read_blocks` gives them), the kick block's first: the velocity block's view
    takes its base pulses from it."""
    views = {}
    if "kick" in reads:
        views["kick"] = pack_view(reads["kick"], clusters, hyper, population)
    for block, block_reads in reads.items():
        if block != "kick":
            kick = views.get("kick")
            kick = kick if isinstance(kick, KickPack) else None
            views[block] = pack_view(block_reads, clusters, hyper, population, kick)
    return {block: views[block] for block in reads}


def drawn_knobs(reads: LoopReads) -> np.ndarray:
    """(J,) bool: the reads' knobs that :func:`draw_block` draws from a pack's hits (those
    shown by at least :data:`MIN_LOOPS` of its loops; ``reads``: the pack's,
    :func:`pack_view`); the others keep the network's draws."""
    return reads.shown.sum(axis=0) >= MIN_LOOPS


def _draw_block(reads, n_samples, rng, clusters, knobs):
    """:func:`draw_block` of a pack's reads (:func:`pack_view`), and what each loop's draws
    need besides: for :class:`GridReads` the drawn population cells (S, J) (None
    otherwise); for estimates, the knobs drawn on the grid because the pack sits in their
    dead zone, column → (their :class:`GridReads`, the drawn cells (S,)) (empty otherwise;
    :mod:`~technorhythm.inference.dead_zone`)."""
    if isinstance(reads, GridReads):
        return (*_draw_grid(reads, n_samples, rng, clusters), {})
    loc, spread, drawn, zones = _draw_point_reads(reads, n_samples, rng, clusters, knobs)
    return loc, spread, drawn, None, zones


def _draw_grid(reads: GridReads, n_samples, rng, clusters):
    """:func:`draw_block` of reads kept as likelihoods on a grid (the onset block): the
    posterior of :func:`~technorhythm.inference.grid_pool.draw_grid_block`, each source
    file's loops counting as one loop; and the drawn cells."""
    k = reads.shown.shape[1]
    loc = np.full((n_samples, k), np.nan)
    spread = np.full((n_samples, k), np.nan)
    cells = np.zeros((n_samples, k), dtype=int)
    drawn = drawn_knobs(reads)
    if not drawn.any():
        return loc, spread, drawn, cells
    cols = np.flatnonzero(drawn)
    loc[:, cols], spread[:, cols], cells[:, cols] = draw_grid_block(
        reads, rng, cols, n_samples, clusters=clusters
    )
    return loc, spread, drawn, cells


def _draw_point_reads(reads, n_samples, rng, clusters, knobs):
    """:func:`draw_block` of per-loop estimates and standard errors (the velocity and timing
    blocks): the robust censored fit of the weighted reads per bootstrap draw; a knob whose
    dead zone or bounds hold :data:`~technorhythm.inference.dead_zone.ZONE_SHARE` of the
    pack's reads or more (:func:`_flat_share`), on the grid
    (:mod:`~technorhythm.inference.dead_zone`). Returns
    ``(loc, spread, drawn, zones)``, ``zones`` as :func:`_draw_block` says."""
    k = len(knobs)
    bounds = knob_bounds()[[KNOB_NAMES.index(name) for name in knobs]]
    loc = np.full((n_samples, k), np.nan)
    spread = np.full((n_samples, k), np.nan)
    drawn = drawn_knobs(reads)
    zones = {}
    for j in np.flatnonzero(drawn):
        which = np.flatnonzero(reads.shown[:, j])
        zone = zone_width(knobs[j]) or 0.0  # a knob without a zone: its bounds alone
        if _flat_share(reads, which, j, zone, bounds[j]) >= ZONE_SHARE:
            grid = zone_reads(reads, j, zone, *bounds[j])
            lj, sj, cell = draw_grid_block(grid, rng, np.array([0]), n_samples, clusters)
            loc[:, j], spread[:, j], zones[int(j)] = lj[:, 0], sj[:, 0], (grid, cell[:, 0])
            continue
        e, se2 = reads.estimate[which, j], reads.se[which, j] ** 2
        g = bootstrap_weights(
            None if clusters is None else np.asarray(clusters)[which], len(which), n_samples, rng
        )
        centre, width = censored_location_spread(
            e, g, *bounds[j], se=np.sqrt(se2), normal_noise=knobs[j] not in SPREAD_READS
        )
        var = (g**2) @ se2 + _few_files_var(centre, width, clusters, which)
        loc[:, j] = centre + rng.standard_normal(n_samples) * np.sqrt(var)
        spread[:, j] = np.sqrt(np.maximum(width**2 - g @ se2, 0.0))
    return loc, spread, drawn, zones


def _flat_share(reads, which, j, zone: float, bounds: np.ndarray) -> float:
    """Share of the reads ``which`` of column ``j`` whose likelihood is flat on one side:
    inside the knob's dead zone, or pinned on a bound (a loop whose knob is clipped there
    reads it exactly, whatever lies beyond: a read on the bound whose standard error is
    within half of :data:`BOUND_NEAR` of the range; a noisier one, such as a jitter of 30
    read ± 7, is not flat on that side and stays with the bootstrap). The lower bound counts
    only where the zone does not start the range (a push's, a level's): a jitter's is in its
    zone. ``zone`` 0: a knob without one (its bounds alone)."""
    e, se = reads.estimate[which, j], reads.se[which, j]
    at_bottom, at_top = on_bounds(e, se, *bounds)
    at_bound = at_top if in_zone(bounds[0], zone) else at_top | at_bottom
    pinned = at_bound & (se <= BOUND_NEAR * (bounds[1] - bounds[0]) / 2)
    return float(np.mean(in_zone(np.clip(e, *bounds), zone) | pinned))


def _few_files_var(
    centre: np.ndarray, width: np.ndarray, clusters: np.ndarray | None, which: np.ndarray
) -> float:
    """Variance to add to the location draws of a knob read from fewer than
    :data:`MIN_FILES` source files: (median spread)² / files less what the bootstrap gave."""
    if clusters is None:
        return 0.0  # no files named: the loops are the units
    n_files = len(np.unique(np.asarray(clusters)[which]))
    if n_files >= MIN_FILES:
        return 0.0
    return max(float(np.median(width)) ** 2 / n_files - float(np.var(centre)), 0.0)


def draw_loops(
    reads: LoopReads,
    loc: np.ndarray,
    spread: np.ndarray,
    bounds: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Each loop's knobs of a block given population draws: (n_samples, N, J), knob units.

    Per draw, a loop that shows a knob gets the normal posterior of its value given its
    estimate (standard error ``se``) and the population (``loc``, ``spread``); one that does
    not gets a draw from the population. Clipped to ``bounds`` (J, 2); J = the reads' columns.
    """
    shown = reads.shown[None]
    se2 = np.where(shown, reads.se[None] ** 2, 1.0)  # (1, N, knobs)
    read_prec = np.where(shown, 1 / se2, 0.0)
    read_term = np.where(shown, reads.estimate[None] / se2, 0.0)
    s2 = np.maximum(spread[:, None], 1e-9) ** 2  # (S, 1, knobs)
    prec = 1 / s2 + read_prec  # (S, N, knobs), then the draws in place
    z = loc[:, None] / s2 + read_term
    z /= prec
    noise = rng.standard_normal(prec.shape)
    np.sqrt(prec, out=prec)
    noise /= prec
    z += noise
    return np.clip(z, bounds[:, 0], bounds[:, 1], out=z)


def pack_reads(
    reads: LoopReads, population, knobs: tuple[str, ...] = VELOCITY_KNOBS
) -> tuple[np.ndarray, np.ndarray]:
    """The group's reads as knob values for the predictive's new loops: ``(values, se)``,
    each (N, K) in ``population``'s columns, each loop's estimate and its standard error
    where it shows a knob that :func:`draw_block` reads (one shown by at least
    :data:`MIN_LOOPS` loops), not clipped (a new loop draws its value given the estimate and
    the pack's population, then clips it:
    :class:`technorhythm.posteriors.PopulationPredictive`); NaN everywhere else (the knobs
    the network reads, and a loop's knobs its hits say nothing about). ``knobs``: the reads'
    columns."""
    values = np.full((len(reads), population.n_knobs), np.nan)
    se = np.full_like(values, np.nan)
    read = drawn_knobs(reads)
    for j, name in enumerate(knobs):
        if read[j]:
            col, shown = population.names.index(name), reads.shown[:, j]
            values[shown, col] = reads.estimate[shown, j]
            se[shown, col] = reads.se[shown, j]
    return values, se


def replace_block(
    hyper: np.ndarray,
    loops: np.ndarray | None,
    reads: LoopReads,
    population,
    rng: np.random.Generator,
    clusters: np.ndarray | None = None,
    knobs: tuple[str, ...] = VELOCITY_KNOBS,
    copy: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """A group's posterior draws with a block of knobs read from its hits (the velocity
    block by default; ``knobs`` names the reads' columns).

    Parameters
    ----------
    hyper : ndarray (S, 2K)
        ψ draws of the group (a network's), knob units; not modified.
    loops : ndarray (S, N, K) or None
        Per-loop knob draws of the group's N loops (the reads' loops, in order), or None.
    reads : LoopReads
        :func:`read_block` of the group's loops (the block of ``knobs``).
    population : technorhythm.inference.population.Population
        Names the columns.
    clusters : ndarray (N,), optional
        Each loop's source file: the bootstrap's unit (:func:`bootstrap_weights`).
    copy : bool
        False writes the block's columns into ``loops`` itself (float64) instead of a copy:
        a caller that owns the draws saves copying draws × loops × knobs per block.

    Returns copies of ``hyper`` and ``loops`` whose block columns are drawn by
    :func:`draw_block` and :func:`draw_loops`; a knob shown by fewer than :data:`MIN_LOOPS`
    loops keeps the network's draws.
    """
    hyper = np.array(hyper, dtype=np.float64)
    reads = pack_view(reads, clusters, hyper, population)
    cols = np.array([population.names.index(k) for k in knobs])
    k = population.n_knobs
    loc, spread, drawn, cells, zones = _draw_block(reads, len(hyper), rng, clusters, knobs)
    cols = cols[drawn]
    hyper[:, cols], hyper[:, k + cols] = loc[:, drawn], spread[:, drawn]
    if loops is None:
        return hyper, None
    loops = np.array(loops, dtype=np.float64, copy=True if copy else None)
    if loops.shape[:2] != (len(hyper), len(reads)):
        raise ValueError(
            f"loops must be ({len(hyper)}, {len(reads)}, K) for these draws and reads; "
            f"got {loops.shape}"
        )
    if cells is not None:
        drawn_loops = draw_grid_loops(reads, np.flatnonzero(drawn), cells[:, drawn], rng)
    else:
        drawn_loops = draw_loops(
            reads[:, drawn], loc[:, drawn], spread[:, drawn], population.bounds[cols], rng
        )
        for j, (grid, cell) in zones.items():  # knobs whose pack sits in their dead zone
            at = int(np.count_nonzero(drawn[:j]))  # j's place among the drawn columns
            drawn_loops[..., at] = draw_grid_loops(grid, np.array([0]), cell[:, None], rng)[..., 0]
    loops[..., cols] = drawn_loops
    return hyper, loops


def source_files(batch) -> np.ndarray | None:
    """Each clip's source file (str array), the bootstrap's unit; None when the clips'
    metadata has no ``source`` column (simulated clips)."""
    meta = batch.meta
    return meta["source"].astype(str).to_numpy() if "source" in meta else None


def replace_block_from_clips(
    hyper: np.ndarray,
    batch,
    population,
    rng: np.random.Generator,
    blocks: tuple[str, ...] | None = None,
) -> np.ndarray:
    """:func:`replace_block` of ψ draws alone for one set of clips (a ClipBatch), for each of
    ``blocks`` (None: those ``fit`` reads by default, :func:`blocks_to_read`): its hits read
    by :func:`read_block`, its source files as the bootstrap's unit."""
    files = source_files(batch)
    reads = read_blocks(blocks_to_read() if blocks is None else tuple(blocks), batch)
    views = pack_views(reads, files, hyper, population)
    for name, view in views.items():
        hyper = replace_block(hyper, None, view, population, rng, files, BLOCKS[name])[0]
    return hyper
