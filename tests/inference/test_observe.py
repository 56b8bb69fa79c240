"""observe(): summaries + log2(N)/10, and the explicit handling of sets beyond the range."""

from __future__ import annotations

import numpy as np
import pytest

from technorhythm.clips import ClipBatch
from technorhythm.inference.observe import N_MAX, effective_n, observe, observe_sets
from technorhythm.simulator import simulate
from technorhythm.summaries import SUMMARY_NAMES, summarize


@pytest.fixture(scope="module")
def clips() -> ClipBatch:
    return simulate({"kick_pulses": 4.0}, 40, seed=3)


def test_observe_is_summary_plus_log2_n(clips):
    x = observe(clips)
    assert x.shape == (len(SUMMARY_NAMES) + 1,)
    np.testing.assert_array_equal(x[:-1], summarize(clips).astype(np.float64))
    assert x[-1] == pytest.approx(np.log2(40) / 10)
    assert observe(clips[0])[-1] == 0.0  # one clip: log2(1) = 0


def test_observe_sets_matches_observe_per_set(clips):
    groups = np.repeat([0, 1, 2], [5, 15, 20])
    xs = observe_sets(clips, groups)
    np.testing.assert_array_equal(xs[1], observe(clips[5:20]))
    np.testing.assert_allclose(xs[:, -1], np.log2([5, 15, 20]) / 10)


def test_large_sets_need_an_explicit_cap(clips):
    with pytest.raises(
        ValueError, match=r"40 clips is beyond the training range of 1–16.*n_cap=16"
    ):
        observe(clips, n_max=16)
    capped = observe(clips, n_cap=16, n_max=16)
    assert capped[-1] == pytest.approx(np.log2(16) / 10)  # tempered: conditioned on N = 16
    np.testing.assert_array_equal(capped[:-1], observe(clips)[:-1])  # summaries use all clips


def test_effective_n():
    np.testing.assert_array_equal(effective_n([1, 500, 5000], n_cap=1024), [1, 500, 1024])
    np.testing.assert_array_equal(effective_n([1, 500], n_cap=None), [1, 500])
    with pytest.raises(ValueError, match="n_cap must be between 1 and"):
        effective_n([3], n_cap=2 * N_MAX)
    with pytest.raises(ValueError, match="n_cap must be an integer"):
        effective_n([3], n_cap=2.5)


def test_empty_set_is_refused():
    with pytest.raises(ValueError, match="empty set"):
        observe(ClipBatch.empty(0))
