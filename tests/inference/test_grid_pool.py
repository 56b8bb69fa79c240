"""The grid pool's hyperprior on its (location, spread) cells, and its draws' search."""

import numpy as np

from technorhythm.inference.grid_pool import (
    LOC_GRID,
    SPREAD_GRID,
    _sorted_search,
    cell_log_prior,
    grid_log_posterior,
)
from technorhythm.inference.population import REST_SHARE

_LOC, _SPREAD = (a.ravel() for a in np.meshgrid(LOC_GRID, SPREAD_GRID, indexing="ij"))


def test_the_box_prior_weighs_each_cell_by_its_share_of_the_box():
    p = np.exp(cell_log_prior())
    assert abs(p.sum() - 1.0) < 1e-12
    inner = (np.abs(_LOC - 0.5) < 0.4) & (_SPREAD > 0.05) & (_SPREAD < 0.45)
    edge = (_SPREAD == 0.0) & (np.abs(_LOC - 0.5) < 0.4)
    assert np.allclose(p[inner], p[inner][0])
    assert np.allclose(p[edge], p[inner][0] / 2)  # half of an edge cell lies outside the box


def test_a_knob_with_plateaus_puts_the_rest_share_on_them():
    centres, half = np.array([0.25, 0.75]), 0.05
    p = np.exp(cell_log_prior(centres, half))
    box = np.exp(cell_log_prior())
    assert abs(p.sum() - 1.0) < 1e-12
    extra = p - (1 - REST_SHARE) * box  # the rest component
    assert abs(extra.sum() - REST_SHARE) < 1e-9
    near = (np.min(np.abs(_LOC[:, None] - centres), axis=1) < half / 2 + 0.01) & (_SPREAD < 0.011)
    assert extra[~near].max() < 1e-12 and extra[near].min() >= 0
    # half the rest mass on each plateau
    left = near & (_LOC < 0.5)
    assert abs(extra[left].sum() - REST_SHARE / 2) < 1e-9


def test_the_prior_moves_a_posterior_that_the_loops_leave_open():
    flat = np.zeros((50, 101))  # loops that say nothing
    centres, half = np.array([0.5]), 0.05
    at_rest = grid_log_posterior(flat, log_prior=cell_log_prior(centres, half))
    box = grid_log_posterior(flat)
    cell = np.argmin(np.abs(_LOC - 0.5) + _SPREAD)  # location 0.5, spread 0
    assert at_rest[cell] - np.log(np.exp(at_rest).sum()) > box[cell] - np.log(np.exp(box).sum())


def test_sorted_search_is_searchsorted(rng):
    haystack = np.cumsum(rng.integers(0, 3, 5000)).astype(np.float64)  # repeated values
    needles = np.concatenate([rng.uniform(-5, haystack[-1] + 5, 3000), haystack[::7]])
    rng.shuffle(needles)
    np.testing.assert_array_equal(
        _sorted_search(haystack, needles),
        np.searchsorted(haystack, needles, side="right"),
    )
