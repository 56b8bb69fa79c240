"""A block of knobs whose loops say little each: their likelihoods on a grid, pooled.

A loop of 64 steps decides its backbeat eight times at most: its read of ``backbeat`` is one
of a few fractions, and the estimate-and-error summaries the velocity and timing blocks pool
(a median and a spread of the reads) would take that coarse scatter for the pack's spread.
Here each loop keeps its whole likelihood over :data:`GRID` (the knob's range, knob units;
:class:`GridReads`), and the pack's population, a normal of location ``loc`` and spread
``spread`` censored to the range (:mod:`technorhythm.inference.population`), is fitted to the
loops' likelihoods together:

* the likelihood of ``(loc, spread)`` on :data:`LOC_GRID` × :data:`SPREAD_GRID` is the sum
  over loops of the log of each loop's likelihood averaged over the population (the
  population discretised onto :data:`GRID`, its tails on the bounds), the loops of one
  source file counting as one loop together;
* with the hyperprior (uniform over the box, so each cell weighs its share of it) this is
  the posterior of the pack's population on the grid; draws take a cell from it and a
  uniform point within the cell. A pack whose loops all sit in a dead zone (any knob value
  in 0–0.1 plays no ride) leaves every population inside the zone about as likely, and
  the draws cover them all;
* each loop's own value, given a draw, is a draw from its likelihood times the population
  (:func:`draw_grid_loops`).

The likelihoods are calibrated per loop (:mod:`technorhythm.inference.onset_block`), so on
the simulator's packs the posterior is too: its 90 % intervals of the loops' mean value cover
the truth about 90 % of the time (``benchmarks/hit_block_sbc.py --block onsets``). An
earlier version took the best cell under Bayesian-bootstrap weights instead; those draws
covered 64–73 % and, near a bound, 28–56 %: the best cell of a resampled pack moves less than
the posterior spreads, most of all where the spread's best value is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from technorhythm.inference.loop_reads import LoopReads
from technorhythm.inference.population import LOC_MARGIN, REST_SHARE, SPREAD_MAX

__all__ = [
    "GRID",
    "LOC_GRID",
    "SPREAD_GRID",
    "POSTERIOR_CELLS",
    "CELL_PROBABILITIES",
    "GridReads",
    "population_on_grid",
    "cell_log_prior",
    "grid_log_posterior",
    "draw_grid_block",
    "draw_grid_loops",
]

GRID: np.ndarray = np.linspace(0.0, 1.0, 101)
"""Knob values at which a block's likelihoods are kept, knob units (the onset knobs' [0, 1])."""
LOC_GRID: np.ndarray = np.linspace(-LOC_MARGIN, 1.0 + LOC_MARGIN, 81)
"""Population locations tried, knob units (the range and the margin the population allows)."""
SPREAD_GRID: np.ndarray = np.linspace(0.0, SPREAD_MAX, 26)
"""Population spreads tried, knob units."""
POSTERIOR_CELLS = 100
"""Most distinct cells a pack's block draws; more draws reuse them, each at its own point
within the cell (the cost of each loop's draws grows with the number of distinct cells)."""


@dataclass(frozen=True)
class GridReads(LoopReads):
    """:class:`LoopReads` that also keep each loop's log-likelihood (N, J, len(GRID)) of
    every knob value. For the predictive's new loops, which pool a normal read with the
    pack's population, ``estimate`` is the most likely value and ``se`` the likelihood's
    standard deviation over the range (a flat prior). Where the likelihood is flat at its
    top (a loop with every hit, or none, of a ramped knob: any value in the dead zone plays
    it), the estimate is the bound itself, so new loops drawn near it play what the loop
    plays, not a few hits more or less (the zone's middle would be 0.05 from the bound, and
    a draw a standard error below it a hit short now and then).

    ``scale`` (J,): the width of each column's range, and ``origin`` (J,) its lower bound:
    the likelihoods are kept on ``origin + GRID · scale``; ``estimate``, ``se`` and every
    draw are in knob units. None: 1 and 0 for every column (the onset knobs).

    ``log_prior`` (J, G): each column's hyperprior on the cells (:func:`cell_log_prior`);
    None: the uniform box for every column."""

    loglik: np.ndarray | None = None
    scale: np.ndarray | None = None
    log_prior: np.ndarray | None = None
    origin: np.ndarray | None = None

    @property
    def scales(self) -> np.ndarray:
        """(J,) each column's scale (:attr:`scale`, ones when None)."""
        if self.scale is None:
            return np.ones(self.shown.shape[1])
        return np.asarray(self.scale, dtype=np.float64)

    @property
    def origins(self) -> np.ndarray:
        """(J,) each column's knob value at the grid's 0 (:attr:`origin`, zeros when None)."""
        if self.origin is None:
            return np.zeros(self.shown.shape[1])
        return np.asarray(self.origin, dtype=np.float64)

    @classmethod
    def from_loglik(
        cls,
        loglik: np.ndarray,
        shown: np.ndarray,
        scale: np.ndarray | None = None,
        log_prior: np.ndarray | None = None,
        origin: np.ndarray | None = None,
    ) -> GridReads:
        """Reads from log-likelihoods (N, J, X) on ``origin + GRID · scale`` (``scale`` and
        ``origin`` (J,), None: 1 and 0) and whether each loop shows each knob;
        ``log_prior``: :attr:`log_prior`."""
        loglik = np.asarray(loglik, dtype=np.float64)
        top = loglik.max(axis=2, keepdims=True)
        w = np.exp(loglik - top)
        w /= w.sum(axis=2, keepdims=True)
        mean = w @ GRID
        sd = np.sqrt(np.maximum(w @ GRID**2 - mean**2, 0.0))
        sd = np.maximum(sd, 0.5 * (GRID[1] - GRID[0]))  # the grid's resolution
        best = loglik >= top - 1e-9  # (N, J, X): the most likely values
        low = np.argmax(best, axis=2)  # first and last of them
        high = len(GRID) - 1 - np.argmax(best[..., ::-1], axis=2)
        estimate = np.where(
            low == 0, GRID[0], np.where(high == len(GRID) - 1, GRID[-1], GRID[(low + high) // 2])
        )
        shown = np.asarray(shown, dtype=bool)
        if scale is not None:
            scale = np.asarray(scale, dtype=np.float64)
            estimate, sd = estimate * scale, sd * scale
        if origin is not None:
            origin = np.asarray(origin, dtype=np.float64)
            estimate = estimate + origin
        return cls(estimate, np.where(shown, sd, np.inf), shown, loglik, scale, log_prior, origin)

    def __getitem__(self, index) -> GridReads:
        rows = index[0] if isinstance(index, tuple) else index
        loglik, scale, log_prior = self.loglik[rows], self.scale, self.log_prior
        origin = self.origin
        if isinstance(index, tuple) and len(index) > 1:
            loglik = loglik[:, index[1]]
            scale = None if scale is None else np.asarray(scale)[index[1]]
            log_prior = None if log_prior is None else np.asarray(log_prior)[index[1]]
            origin = None if origin is None else np.asarray(origin)[index[1]]
        return GridReads(
            self.estimate[index],
            self.se[index],
            self.shown[index],
            loglik,
            scale,
            log_prior,
            origin,
        )

    def column_log_prior(self, col: int) -> np.ndarray | None:
        """Column ``col``'s :attr:`log_prior` (None: the uniform box)."""
        return None if self.log_prior is None else np.asarray(self.log_prior)[col]


def population_on_grid(loc: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """(P, X) probability of each :data:`GRID` value under censored normals ``loc``,
    ``spread`` (P,): each grid value takes the normal's mass between the midpoints to its
    neighbours, the end values the tails beyond them (spread 0: all on the nearest value)."""
    edges = np.concatenate([[-np.inf], 0.5 * (GRID[1:] + GRID[:-1]), [np.inf]])
    loc = np.asarray(loc, dtype=np.float64)[:, None]
    spread = np.asarray(spread, dtype=np.float64)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (edges[None] - loc) / spread
    cdf = np.where(spread > 0, ndtr(z), (edges[None] >= loc).astype(np.float64))
    return np.diff(cdf, axis=1)


_CELLS = np.stack(np.meshgrid(LOC_GRID, SPREAD_GRID, indexing="ij"), -1).reshape(-1, 2)
_CELL_PROB = population_on_grid(_CELLS[:, 0], _CELLS[:, 1])  # (G, X)
CELL_PROBABILITIES: np.ndarray = _CELL_PROB
"""(G, len(GRID)): the population of every (location, spread) cell on :data:`GRID`, in the
order of :func:`grid_log_posterior`'s cells."""
_HALF = 0.5 * np.array([LOC_GRID[1] - LOC_GRID[0], SPREAD_GRID[1] - SPREAD_GRID[0]])


def _loop_fit(loglik: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each distinct loop's log-likelihood of every cell: ``(fit (U, G), inverse (N,))``,
    ``inverse`` mapping each loop to its row of ``fit``."""
    rows, inverse = np.unique(np.round(loglik, 9), axis=0, return_inverse=True)
    top = rows.max(axis=1, keepdims=True)
    fit = np.log(np.maximum(np.exp(rows - top) @ _CELL_PROB.T, 1e-300)) + top
    return fit, inverse.reshape(-1)


_BOX = np.array([[LOC_GRID[0], SPREAD_GRID[0]], [LOC_GRID[-1], SPREAD_GRID[-1]]])
_CELL_LOW = np.maximum(_CELLS - _HALF, _BOX[0])  # (G, 2): each cell's part inside the
_CELL_HIGH = np.minimum(_CELLS + _HALF, _BOX[1])  # hyperprior's box, (location, spread)
_CELL_LOG_PRIOR = np.log(np.prod((_CELL_HIGH - _CELL_LOW) / (2 * _HALF), axis=1))
"""(G,) log of each cell's share of the hyperprior's uniform box: a cell on an edge of the
box holds half the mass of an inner one (a corner a quarter)."""


def cell_log_prior(centres: np.ndarray = (), half: float = 1.0) -> np.ndarray:
    """(G,) log hyperprior of every cell for a knob with plateaus at ``centres`` of
    half-width ``half`` (grid units): as :meth:`~technorhythm.inference.population.
    Population.sample_hyper` draws it, the uniform box and, with probability
    :data:`~technorhythm.inference.population.REST_SHARE`, a population at rest on a plateau
    chosen uniformly (location within ``half / 2`` of its centre, spread below ``half / 6``),
    each cell taking the part of either that falls inside it. No centres: the box alone."""
    box = np.exp(_CELL_LOG_PRIOR)
    box /= box.sum()
    centres = np.asarray(centres, dtype=np.float64)
    if not len(centres):
        return np.log(box)
    low, high = centres - half / 2, centres + half / 2  # (C,)
    on_loc = np.clip(
        np.minimum(_CELL_HIGH[:, None, 0], high) - np.maximum(_CELL_LOW[:, None, 0], low), 0, None
    ).sum(axis=1) / (half * len(centres))
    on_spread = np.clip(np.minimum(_CELL_HIGH[:, 1], half / 6) - _CELL_LOW[:, 1], 0, None) / (
        half / 6
    )
    with np.errstate(divide="ignore"):
        return np.log((1 - REST_SHARE) * box + REST_SHARE * on_loc * on_spread)


def grid_log_posterior(
    loglik: np.ndarray, clusters: np.ndarray | None = None, log_prior: np.ndarray | None = None
) -> np.ndarray:
    """(G,) unnormalised log posterior of every (location, spread) cell from the loops'
    log-likelihoods ``loglik`` (N, X) of one knob on :data:`GRID`: the hyperprior's share
    of the cell (``log_prior``, :func:`cell_log_prior`; None: the uniform box) plus the sum
    over loops of the log of each loop's likelihood averaged over the cell's population.
    ``clusters`` (N,): each loop's source file; the loops of one file count as one loop
    together (their mean log-likelihood), since the windows of one performance are not
    independent draws from the pack's population."""
    fit, inverse = _loop_fit(loglik)
    weight = np.ones(len(inverse))
    if clusters is not None:
        _, file_of, per_file = np.unique(clusters, return_inverse=True, return_counts=True)
        weight = 1.0 / per_file[file_of.reshape(-1)]
    prior = _CELL_LOG_PRIOR if log_prior is None else log_prior
    return np.bincount(inverse, weights=weight, minlength=len(fit)) @ fit + prior


def draw_grid_block(
    reads: GridReads,
    rng: np.random.Generator,
    columns: np.ndarray,
    n_samples: int,
    clusters: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n_samples`` posterior draws of the population of the knobs ``columns`` of
    ``reads``, each knob from its own loops (those that show it).

    The posterior of the cells is :func:`grid_log_posterior`. :data:`POSTERIOR_CELLS`
    cells are drawn from it independently; each of the ``n_samples`` draws takes one of them
    (each as often, in random order) and a uniform point within the part of the cell inside
    the hyperprior's box. ``clusters`` (N,): each loop's source file (None: each loop its
    own). Returns ``(loc, spread, cell)``, each (n_samples, len(columns)): knob units, and
    the index of the drawn cell (for :func:`draw_grid_loops`).
    """
    n_cells = min(int(n_samples), POSTERIOR_CELLS)
    drawn = []
    for col in columns:
        which = np.flatnonzero(reads.shown[:, col])
        files = None if clusters is None else np.asarray(clusters)[which]
        logp = grid_log_posterior(reads.loglik[which, col], files, reads.column_log_prior(col))
        p = np.exp(logp - logp.max())
        chosen = rng.choice(len(p), size=n_cells, p=p / p.sum())
        pick = chosen[rng.permutation(np.arange(n_samples) % n_cells)]
        lo, hi = _CELL_LOW[pick], _CELL_HIGH[pick]
        drawn.append((lo + rng.random((n_samples, 2)) * (hi - lo), pick))
    scale = reads.scales[np.asarray(columns)]
    loc = np.column_stack([d[0][:, 0] for d in drawn]) * scale + reads.origins[np.asarray(columns)]
    spread = np.column_stack([d[0][:, 1] for d in drawn]) * scale
    cell = np.column_stack([d[1] for d in drawn])
    return loc, spread, cell


def draw_grid_loops(
    reads: GridReads, columns: np.ndarray, cell: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Each loop's value of the knobs ``columns`` given population draws ``cell``
    (S, len(columns), from :func:`draw_grid_block`): (S, N, len(columns)), knob units, drawn
    from the loop's likelihood times the population on :data:`GRID` (a loop that does not
    show a knob: the population alone), with a uniform offset within the grid step except
    on the bounds."""
    s, n = cell.shape[0], len(reads.estimate)
    out = np.empty((s, n, len(columns)))
    for j, col in enumerate(columns):
        loglik = np.where(reads.shown[:, col, None], reads.loglik[:, col], 0.0)
        scaled = np.exp(loglik - loglik.max(axis=1, keepdims=True))  # (N, X)
        cells, which = np.unique(cell[:, j], return_inverse=True)
        for start in range(0, n, _LOOP_CHUNK):
            part = slice(start, min(start + _LOOP_CHUNK, n))
            out[:, part, j] = _draw_from_grid(scaled[part], cells, which, rng)
    columns = np.asarray(columns)
    return out * reads.scales[columns] + reads.origins[columns]


_LOOP_CHUNK = 256  # loops whose posteriors under every drawn cell are held at once


def _draw_from_grid(scaled, cells, which, rng) -> np.ndarray:
    """(S, m) values of m loops with likelihoods ``scaled`` (m, X), draw s under population
    cell ``cells[which[s]]``: the inverse CDFs of every (cell, loop) pair in one sorted
    array, pair r's CDF shifted by r."""
    m, x = scaled.shape
    prior = _CELL_PROB[cells][:, None, :]  # (C, 1, X)
    cum = np.cumsum(scaled[None] * prior, axis=2)  # (C, m, X)
    total = cum[..., -1:]
    nil = total[..., 0] <= 0  # the loop's likelihood is nil where this population lives
    if nil.any():
        cum[nil] = np.cumsum(np.broadcast_to(prior, cum.shape)[nil], axis=1)
        total = cum[..., -1:]
    rows = np.arange(len(cells) * m, dtype=np.float64).reshape(len(cells), m)
    cum /= total
    cum += rows[..., None]
    cum[..., -1] = rows + 1  # each pair's CDF ends exactly where the next one starts
    pair = rows[which].astype(np.int64)  # (S, m)
    idx = _sorted_search(cum.ravel(), (rng.random(pair.shape) + pair).ravel())
    idx = np.minimum(idx.reshape(pair.shape) - pair * x, x - 1)
    step = GRID[1] - GRID[0]
    value = np.clip(GRID[idx] + (rng.random(idx.shape) - 0.5) * step, GRID[0], GRID[-1])
    return np.where((idx == 0) | (idx == x - 1), GRID[idx], value)


def _sorted_search(haystack: np.ndarray, needles: np.ndarray) -> np.ndarray:
    """``np.searchsorted(haystack, needles, side="right")``, the needles searched in sorted
    order: numpy starts each search from the last one's place when the needles rise, which
    keeps the walk through a haystack of millions in cache; the indices are the same."""
    order = np.argsort(needles, kind="stable")
    idx = np.empty(len(needles), dtype=np.intp)
    idx[order] = np.searchsorted(haystack, needles[order], side="right")
    return idx
