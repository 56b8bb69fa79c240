"""Resampling by source file: halves never share a file, folds keep a file together."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from technorhythm.clips import ClipBatch
from technorhythm.diagnostics.c2st import run_c2st
from technorhythm.diagnostics.resampling import group_labels, half_splits
from technorhythm.simulator import simulate
from technorhythm.simulator.knobs import default_theta


def test_half_splits_keep_files_whole_and_halve_the_clips():
    groups = np.repeat([f"f{i}" for i in range(10)], [1, 2, 3, 4, 5, 1, 2, 3, 4, 5])
    for a, b in half_splits(groups, 20, seed=0):
        assert not set(groups[a]) & set(groups[b])
        assert len(a) + len(b) == len(groups) and abs(len(a) - len(b)) <= 6
    assert half_splits(np.array(["one"] * 5), 3, seed=0) == []
    singles = half_splits(np.arange(7).astype(str), 2, seed=1)
    assert [len(a) for a, _ in singles] == [3, 3]


def test_group_labels_read_the_source_column():
    batch = simulate(default_theta(), 3, seed=0)
    assert list(group_labels(batch)) == ["clip0", "clip1", "clip2"]
    meta = pd.DataFrame({"source": list("aab")})
    named = ClipBatch(batch.velocity, batch.offset, batch.bpm, meta)
    assert list(group_labels(named)) == ["a", "a", "b"]


def test_copies_of_a_file_do_not_fool_the_classifier():
    """A pack whose clips come in identical pairs (a pattern rendered over 8 bars gives two
    windows): ungrouped folds let the classifier recognise the twin; grouped ones do not."""
    theta = default_theta()
    once = simulate(theta, 60, seed=1)
    twins = ClipBatch.concat([once, once])
    meta = pd.DataFrame({"source": [f"f{i}" for i in range(60)] * 2})
    twins = ClipBatch(twins.velocity, twins.offset, twins.bpm, meta)
    grouped, ungrouped = [], []
    for seed in range(3):  # averaged over generated sets, seeds and both classifiers
        generated = simulate(theta, 120, seed=2 + seed)
        for name in ("gb", "lr"):
            kwargs = {"families": ("all",), "classifiers": (name,), "seed": seed}
            grouped.append(run_c2st(twins, generated, **kwargs).table.accuracy.iloc[0])
            ungrouped.append(
                run_c2st(twins, generated, group_by=None, **kwargs).table.accuracy.iloc[0]
            )
    assert abs(np.mean(grouped) - 0.5) < 0.06  # same distribution: chance
    assert np.mean(ungrouped) > 0.62  # the twin in the training fold gives it away
    with pytest.raises(ValueError, match="one label per clip"):
        run_c2st(twins, generated, groups_a=np.zeros(3))
