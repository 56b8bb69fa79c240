"""Training pairs: the plan's seeds and sizes, determinism across workers and backends."""

from __future__ import annotations

import numpy as np
import pytest

from technorhythm.inference.observe import N_MAX, n_feature, observe
from technorhythm.inference.training_data import (
    TrainingPlan,
    simulate_sets,
    simulate_training_set,
)
from technorhythm.simulator import simulate
from technorhythm.simulator.knobs import KNOBS
from technorhythm.summaries import SUMMARY_NAMES


def test_plan_draws_log_uniform_sizes_and_disjoint_clip_ranges():
    plan = TrainingPlan(n_sets=20_000, seed=7)
    theta, n, start = plan.draw()
    assert theta.shape == (20_000, len(KNOBS))
    lows = np.array([k.low for k in KNOBS])
    highs = np.array([k.high for k in KNOBS])
    assert np.all(theta >= lows) and np.all(theta <= highs)
    # the whole range is drawn: P(N = 1024) is only 1.4e-4, but P(N >= 1000) is 3.6e-3 (71 sets)
    assert n.min() == 1 and 1000 <= n.max() <= N_MAX
    # Log-uniform over 1 … 1024: P(N = 1) = log 2 / log 1025, P(N <= 32) = log 33 / log 1025.
    assert np.mean(n == 1) == pytest.approx(np.log(2) / np.log(1025), abs=0.01)
    assert np.mean(n <= 32) == pytest.approx(np.log(33) / np.log(1025), abs=0.015)
    # Set j owns clip indices start[j] … start[j] + n[j] - 1: contiguous and disjoint.
    assert start[0] == 0
    np.testing.assert_array_equal(start[1:], start[:-1] + n[:-1])
    # Same seed → same draw; another seed → another draw.
    t2, n2, _ = TrainingPlan(n_sets=20_000, seed=7).draw()
    np.testing.assert_array_equal(theta, t2)
    np.testing.assert_array_equal(n, n2)
    assert not np.array_equal(theta, TrainingPlan(n_sets=20_000, seed=8).draw()[0])


def test_plan_records_its_seeds():
    record = TrainingPlan(n_sets=5, seed=3, n_range=(2, 64)).to_dict()
    assert record["n_sets"] == 5 and record["seed"] == 3 and record["n_range"] == [2, 64]
    assert record["simulator_seed"] == TrainingPlan(n_sets=9, seed=3).simulator_seed
    assert record["simulator_seed"] != TrainingPlan(n_sets=5, seed=4).simulator_seed


def test_plan_chunks_whole_sets():
    plan = TrainingPlan(n_sets=50, seed=1, n_range=(1, 100))
    _, n, _ = plan.draw()
    chunks = plan.chunks(n, chunk_clips=150)
    covered = np.concatenate([np.arange(len(n))[s] for s in chunks])
    np.testing.assert_array_equal(covered, np.arange(len(n)))
    for s in chunks:  # at most chunk_clips clips, unless one set alone is bigger
        assert n[s].sum() <= 150 or s.stop - s.start == 1


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(n_sets=0, seed=1), "n_sets must be a positive integer"),
        (dict(n_sets=3, seed=-1), r"seed must be in \[0, 2\*\*63\)"),
        (dict(n_sets=3, seed=1, n_range=(0, 4)), "n_range must satisfy"),
        (dict(n_sets=3, seed=1, n_range=(8, 4)), "n_range must satisfy"),
    ],
)
def test_plan_rejects_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        TrainingPlan(**bad)


def test_training_set_is_the_observation_of_each_simulated_set():
    theta, x = simulate_training_set(12, seed=5, n_range=(1, 16))
    plan = TrainingPlan(n_sets=12, seed=5, n_range=(1, 16))
    theta_plan, n, start = plan.draw()
    assert x.shape == (12, len(SUMMARY_NAMES) + 1)
    np.testing.assert_array_equal(theta, theta_plan)
    np.testing.assert_allclose(x[:, -1], np.log2(n) / 10)
    for j in (0, 5, 11):  # one code path: the x of set j is observe() of its own clips
        clips = simulate(theta[j], int(n[j]), seed=plan.simulator_seed, start_index=int(start[j]))
        np.testing.assert_array_equal(x[j], observe(clips, n_max=16))


def test_same_seed_same_pairs_whatever_the_workers_and_chunks():
    a = simulate_training_set(30, seed=11, n_range=(1, 64))
    b = simulate_training_set(30, seed=11, n_range=(1, 64), workers=2, chunk_clips=100)
    c = simulate_training_set(30, seed=11, n_range=(1, 64), chunk_clips=1)
    for other in (b, c):
        np.testing.assert_array_equal(a[0], other[0])
        np.testing.assert_array_equal(a[1], other[1])
    d = simulate_training_set(30, seed=12, n_range=(1, 64))
    assert not np.array_equal(a[1], d[1])


def test_simulate_sets_rejects_mismatched_input():
    with pytest.raises(ValueError, match="must agree"):
        simulate_sets(np.zeros((3, len(KNOBS))), np.ones(2, dtype=int), seed=0)
    with pytest.raises(ValueError, match="at least one clip"):
        simulate_sets(np.zeros((2, len(KNOBS))), np.array([1, 0]), seed=0)


def test_bad_workers_and_scheduler_are_named():
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        simulate_training_set(2, seed=0, workers=0)


def test_dask_scheduler_gives_the_same_pairs():
    distributed = pytest.importorskip("distributed")
    expected = simulate_training_set(16, seed=21, n_range=(1, 32))
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        got = simulate_training_set(
            16, seed=21, n_range=(1, 32), scheduler=cluster.scheduler_address, chunk_clips=64
        )
    np.testing.assert_array_equal(expected[0], got[0])
    np.testing.assert_array_equal(expected[1], got[1])


def test_n_feature_values():
    np.testing.assert_allclose(n_feature([1, 2, 1024]), [0.0, 0.1, 1.0])
    with pytest.raises(ValueError, match="at least 1"):
        n_feature(0)
