"""simulate(): known answers, determinism, invariance to batching and workers, errors."""

import numpy as np
import pytest

from technorhythm.clips import CYMBAL, HH_CLOSED, HH_OPEN, KICK, SNARE, ClipBatch, step_ms
from technorhythm.simulator import engine
from technorhythm.simulator.engine import OFFSET_LIMIT, simulate
from technorhythm.simulator.knobs import KNOB_NAMES, KNOBS, KnobError, default_theta
from technorhythm.simulator.patterns import EUCLID_8THS, euclidean_pattern

IDX = {name: i for i, name in enumerate(KNOB_NAMES)}

PLAIN = {  # a deterministic four-on-the-floor: every probability 0 or 1, no noise in time
    "swing_16": 0.0,
    "humanize_ms": 0.0,
    "intensity": 1.0,
    "kick_density": 4.0,
    "kick_syncopation": 0.0,
    "backbeat_strength": 1.0,
    "snare_sync": 0.0,
    "hat_density": 1 / 3,
    "openness": 0.0,
    "ratchet_prob": 0.0,
    "ride_density": 0.0,
    "crash_prob": 0.0,
    "variation": 0.0,
}


def steps(batch, row, clip=0):
    return np.flatnonzero(batch.velocity[clip, row]).tolist()


def test_euclidean_patterns_known_answers():
    assert np.flatnonzero(euclidean_pattern(3, 8)).tolist() == [0, 3, 6]  # tresillo
    assert np.flatnonzero(euclidean_pattern(4, 8)).tolist() == [0, 2, 4, 6]
    assert np.flatnonzero(euclidean_pattern(5, 8)).tolist() == [0, 2, 4, 5, 7]  # cinquillo
    assert EUCLID_8THS.sum(axis=1).tolist() == list(range(9))
    assert EUCLID_8THS[1:, 0].all()  # every pattern has the downbeat
    with pytest.raises(ValueError, match="pulses"):
        euclidean_pattern(9, 8)


def test_plain_theta_gives_the_textbook_pattern():
    b = simulate(PLAIN, 3, seed=5)
    assert isinstance(b, ClipBatch) and len(b) == 3
    for c in range(3):
        assert steps(b, KICK, c) == list(range(0, 64, 4))
        assert steps(b, SNARE, c) == list(range(4, 64, 8))
        assert steps(b, HH_CLOSED, c) == list(range(2, 64, 4))
        assert steps(b, HH_OPEN, c) == [] and steps(b, CYMBAL, c) == []
    assert np.all(b.offset == 0)
    # intensity 1: full accents (127) minus at most 7 of noise
    assert b.velocity[:, KICK, 0].min() >= 120
    assert b.meta["index"].tolist() == [0, 1, 2] and (b.meta["seed"] == 5).all()
    assert (b.meta["rotation"] == 0).all()


def test_grids_at_knob_extremes():
    full = simulate(
        {**PLAIN, "hat_density": 1.0, "ride_density": 1.0, "crash_prob": 1.0}, 2, seed=1
    )
    assert full.onsets[:, HH_CLOSED].all()
    assert full.onsets[:, CYMBAL].all()  # ride 16ths, crashes on the downbeats
    opened = simulate({**PLAIN, "openness": 1.0}, 2, seed=1)
    assert steps(opened, HH_OPEN) == list(range(2, 64, 4)) and steps(opened, HH_CLOSED) == []
    quarters = simulate({**PLAIN, "ride_density": 1 / 3}, 1, seed=1)
    assert steps(quarters, CYMBAL) == list(range(0, 64, 4))
    tresillo = simulate({**PLAIN, "kick_density": 3.0}, 1, seed=1)
    assert steps(tresillo, KICK) == [s + 16 * b for b in range(4) for s in (0, 6, 12)]
    silent = simulate({**PLAIN, "kick_density": 0.0, "backbeat_strength": 0.0}, 1, seed=1)
    assert steps(silent, KICK) == [] and steps(silent, SNARE) == []


def test_swing_is_an_exact_time_warp_of_the_off_16ths():
    b = simulate({**PLAIN, "hat_density": 1.0, "swing_16": 0.25}, 2, seed=3)
    hats = b.offset[:, HH_CLOSED]
    assert np.all(hats[:, 1::2] == np.float32(0.25)) and np.all(hats[:, 0::2] == 0)


def test_humanize_sd_in_milliseconds_follows_bpm():
    theta = {**PLAIN, "hat_density": 1.0, "humanize_ms": 10.0}
    for bpm in (90.0, 128.0, 174.0):
        b = simulate(theta, 400, seed=11, bpm=bpm)
        ms = b.offset_ms[b.onsets]
        assert abs(ms.std() - 10.0) < 0.3 and abs(ms.mean()) < 0.2
        assert np.all(b.bpm == bpm)
        assert np.abs(b.offset).max() <= OFFSET_LIMIT
    assert step_ms(128.0) == pytest.approx(117.1875)


def test_every_clip_is_valid_and_choked(rng, prior_thetas):
    theta = prior_thetas(rng, 3000, kick_min=0.0)
    b = simulate(theta, seed=2)
    assert not np.any(b.onsets[:, HH_CLOSED] & b.onsets[:, HH_OPEN])
    assert np.all(b.offset[~b.onsets] == 0)
    assert np.abs(b.offset).max() <= OFFSET_LIMIT
    assert b.velocity.max() <= 127
    # canonical: a second canonicalisation is a no-op
    assert b.canonical().equals(b)
    assert (b.meta["rotation"] > 0).any()  # bars without kicks do occur at kick_density < 1


def test_same_seed_same_clips_other_seed_other_clips():
    a = simulate(default_theta(), 50, seed=42)
    assert a.equals(simulate(default_theta(), 50, seed=42))
    assert not a.equals(simulate(default_theta(), 50, seed=43))
    # clips of one θ differ from each other (a distribution, not one loop)
    assert len({a.velocity[i].tobytes() for i in range(50)}) == 50


def test_invariant_to_batch_size_chunking_and_start_index(monkeypatch, rng, prior_thetas):
    theta = prior_thetas(rng, 1, kick_min=0.0)[0]
    whole = simulate(theta, 100, seed=9)
    parts = [simulate(theta, k, seed=9, start_index=s) for s, k in [(0, 1), (1, 36), (37, 63)]]
    assert ClipBatch.concat(parts).equals(whole)
    assert simulate(theta, 1, seed=9, start_index=57).equals(whole[57])
    monkeypatch.setattr(engine, "BLOCK_SIZE", 7)
    assert simulate(theta, 100, seed=9).equals(whole)
    assert simulate(theta, 100, seed=9, workers=2).equals(whole)


def test_per_clip_theta_rows_match_single_clip_calls(rng, prior_thetas):
    theta = prior_thetas(rng, 20, kick_min=0.0)
    batch = simulate(theta, seed=4, start_index=1000)
    for i in (0, 7, 19):
        assert batch[i].equals(simulate(theta[i], 1, seed=4, start_index=1000 + i))


@pytest.mark.slow
def test_invariant_to_process_workers(rng, prior_thetas):
    from joblib import Parallel, delayed

    theta = prior_thetas(rng, 60, kick_min=0.0)
    whole = simulate(theta, seed=8)
    chunks = [(0, 25), (25, 60)]
    parts = Parallel(n_jobs=2, backend="loky")(
        delayed(simulate)(theta[s:e], seed=8, start_index=s) for s, e in chunks
    )
    assert ClipBatch.concat(parts).equals(whole)


def test_mapping_may_be_partial_and_array_order_is_the_registry():
    named = simulate({"hat_density": 1.0}, 3, seed=1)
    arr = np.array([k.default for k in KNOBS])
    arr[IDX["hat_density"]] = 1.0
    assert named.equals(simulate(arr, 3, seed=1))
    assert len(simulate(default_theta(), seed=1)) == 1
    assert len(simulate(default_theta(), 0, seed=1)) == 0


@pytest.mark.parametrize(
    ("theta", "n", "kwargs", "message"),
    [
        ({"cowbell": 1.0}, 1, {}, "Unknown knob 'cowbell'"),
        ({"swing_16": 0.9}, 1, {}, r"'swing_16' knob must be in \[0.0, 0.45\].*got 0.9"),
        (np.zeros(3), 1, {}, "shape"),
        (np.full((2, len(KNOBS)), 0.4), 3, {}, "2 rows but n=3"),
        ("loud", 1, {}, "numeric"),
    ],
)
def test_bad_theta_names_knob_value_and_range(theta, n, kwargs, message):
    with pytest.raises(KnobError, match=message):
        simulate(theta, n, seed=1, **kwargs)


def test_bad_array_row_is_reported(rng, prior_thetas):
    theta = prior_thetas(rng, 5)
    theta[3, IDX["kick_density"]] = 9.5
    with pytest.raises(KnobError, match=r"'kick_density' knob must be in \[0.0, 8.0\].*9.5.*row 3"):
        simulate(theta, seed=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"seed": 1, "start_index": -2}, "start_index"),
        ({"seed": 1, "bpm": 0.0}, "bpm"),
        ({"seed": 1, "workers": 0}, "workers"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        simulate(default_theta(), 2, **kwargs)


@pytest.mark.skipif(not engine._kernel.AVAILABLE, reason="numba is not installed")
def test_numba_kernel_and_numpy_path_agree_bit_for_bit(monkeypatch, rng, prior_thetas):
    theta = prior_thetas(rng, 500, kick_min=0.0)
    bpm = rng.uniform(70, 180, 500)
    fast = simulate(theta, seed=12, start_index=3, bpm=bpm)
    shared = simulate(theta[0], 200, seed=12)
    monkeypatch.setattr(engine, "USE_KERNEL", False)
    slow = simulate(theta, seed=12, start_index=3, bpm=bpm)
    assert fast.equals(slow)
    assert np.array_equal(fast.offset.view(np.uint32), slow.offset.view(np.uint32))
    assert simulate(theta[0], 200, seed=12).equals(shared)


def test_partial_canonicalisation_equals_canonicalize(rng, prior_thetas):
    from technorhythm.clips import canonicalize
    from technorhythm.simulator.streams import clip_streams

    theta = prior_thetas(rng, 800, kick_min=0.0)
    velocity = np.empty((800, 5, 64), np.uint8)
    offset = np.empty((800, 5, 64), np.float32)
    engine._simulate_block(theta, clip_streams(4, 0, 800), np.full(800, 128.0), velocity, offset)
    expected = canonicalize(velocity, offset)
    rotation = engine._canonicalize(velocity, offset)  # in place
    assert np.array_equal(velocity, expected[0]) and np.array_equal(offset, expected[1])
    assert np.array_equal(rotation, expected[2])
    assert expected[2].any()  # some clips do rotate
