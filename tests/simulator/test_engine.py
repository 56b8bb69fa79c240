"""simulate(): known answers, determinism, invariance to batching and workers, errors."""

import numpy as np
import pytest

from technorhythm.clips import CYMBAL, HH_CLOSED, HH_OPEN, KICK, SNARE, ClipBatch, step_ms
from technorhythm.simulator import engine
from technorhythm.simulator import patterns as pt
from technorhythm.simulator.engine import OFFSET_LIMIT, simulate
from technorhythm.simulator.knobs import KNOB_NAMES, KNOBS, KnobError, default_theta, get_knob
from technorhythm.simulator.patterns import KICK_BASE_PATTERNS, KICK_BASES, _kick_bases

IDX = {name: i for i, name in enumerate(KNOB_NAMES)}

PLAIN = {  # a deterministic four-on-the-floor: every probability 0 or 1, no noise
    "swing_16": 0.0,
    "humanize_ms": 0.0,
    "push_ms": 0.0,
    "hat_push_ms": 0.0,
    "snare_velocity": 127.0,
    "kick_velocity": 127.0,
    "hat_velocity": 127.0,
    "open_hat_velocity": 127.0,
    "snare_accent": 0.0,
    "kick_accent": 0.0,
    "hat_accent": 0.0,
    "snare_jitter": 0.0,
    "kick_jitter": 0.0,
    "hat_jitter": 0.0,
    "kick_pulses": 4.0,
    "kick_extra": 0.0,
    "kick_late": 0.5,
    "backbeat": 1.0,
    "snare_ghosts": 0.0,
    "hat_beats": 0.0,
    "hat_offbeats": 1.0,
    "hat_16ths": 0.0,
    "open_hat": 0.0,
    "ride": 0.0,
    "crash": 0.0,
    "variation": 0.0,
}


def steps(batch, row, clip=0):
    return np.flatnonzero(batch.velocity[clip, row]).tolist()


def test_kick_bases_known_answers():
    assert np.flatnonzero(KICK_BASES[2]).tolist() == [0, 4]  # beats 1 and 3
    assert np.flatnonzero(KICK_BASES[3]).tolist() == [0, 4, 5]  # and the 'and' of 3
    assert np.flatnonzero(KICK_BASES[4]).tolist() == [0, 2, 4, 6]  # four-on-the-floor
    assert KICK_BASES.sum(axis=1).tolist() == list(range(9))
    assert KICK_BASES[1:, 0].all()  # every pattern has the downbeat
    # from four-on-the-floor up, a base holds the one below it: no beat is dropped
    for k in range(4, 8):
        assert np.all(KICK_BASES[k] <= KICK_BASES[k + 1])
    for k in (1, 2):
        assert np.all(KICK_BASES[k] <= KICK_BASES[k + 1])
    with pytest.raises(ValueError, match="k pulses"):
        _kick_bases(KICK_BASE_PATTERNS[:3] + ("xxxx....",) + KICK_BASE_PATTERNS[4:])


def test_plain_theta_gives_the_textbook_pattern():
    b = simulate(PLAIN, 3, seed=5)
    assert isinstance(b, ClipBatch) and len(b) == 3
    for c in range(3):
        assert steps(b, KICK, c) == list(range(0, 64, 4))
        assert steps(b, SNARE, c) == list(range(4, 64, 8))
        assert steps(b, HH_CLOSED, c) == list(range(2, 64, 4))
        assert steps(b, HH_OPEN, c) == [] and steps(b, CYMBAL, c) == []
    assert np.all(b.offset == 0)
    # no accent, no jitter: a step sequencer, every hit at velocity 127
    assert set(b.velocity[b.onsets].tolist()) == {127}
    assert b.meta["index"].tolist() == [0, 1, 2] and (b.meta["seed"] == 5).all()
    assert (b.meta["rotation"] == 0).all()


def test_grids_at_knob_extremes():
    full = simulate(
        {**PLAIN, "hat_beats": 1.0, "hat_16ths": 1.0, "ride": 1.0, "crash": 1.0}, 2, seed=1
    )
    assert full.onsets[:, HH_CLOSED].all()
    assert full.onsets[:, CYMBAL].all()  # ride 16ths, crashes on the downbeats
    opened = simulate({**PLAIN, "open_hat": 1.0}, 2, seed=1)
    assert set(range(2, 64, 4)) <= set(steps(opened, HH_OPEN))  # every off-beat 8th
    assert steps(opened, HH_CLOSED) == []  # choked
    # the ride acts through the ramp: quarters at ramp 1/3, 8ths at 2/3 (plus a hair, so
    # that the rounding of the division cannot leave a threshold one short)
    quarters = simulate({**PLAIN, "ride": 0.1 + 0.8 / 3 + 1e-9}, 1, seed=1)
    assert steps(quarters, CYMBAL) == list(range(0, 64, 4))
    eighths = simulate({**PLAIN, "ride": 0.1 + 1.6 / 3 + 1e-9, "hat_beats": 1.0}, 1, seed=1)
    assert steps(eighths, CYMBAL) == steps(eighths, HH_CLOSED) == list(range(0, 64, 2))
    beats = simulate({**PLAIN, "hat_beats": 1.0, "hat_offbeats": 0.0}, 1, seed=1)
    assert steps(beats, HH_CLOSED) == list(range(0, 64, 4))  # quarter-note hats alone
    offbeats = simulate(PLAIN, 1, seed=1)
    assert steps(offbeats, HH_CLOSED) == list(range(2, 64, 4))
    broken = simulate({**PLAIN, "kick_pulses": 3.0}, 1, seed=1)
    assert steps(broken, KICK) == [s + 16 * b for b in range(4) for s in (0, 8, 10)]
    rock = simulate({**PLAIN, "kick_pulses": 2.0}, 1, seed=1)
    assert steps(rock, KICK) == [s + 16 * b for b in range(4) for s in (0, 8)]
    silent = simulate(
        {**PLAIN, "kick_pulses": 0.0, "backbeat": 0.0, "hat_offbeats": 0.0}, 1, seed=1
    )
    assert not silent.onsets.any()


@pytest.mark.parametrize("name", pt.RAMPED)
def test_a_ramped_knob_is_exact_inside_its_dead_zones(name, rng, prior_thetas):
    theta = prior_thetas(rng, 300)
    col = IDX[name]
    for low, high in ((0.0, pt.DEAD_ZONE - 1e-6), (1.0 - pt.DEAD_ZONE + 1e-6, 1.0)):
        a, b = theta.copy(), theta.copy()
        a[:, col], b[:, col] = low, high
        x, y = simulate(a, seed=9), simulate(b, seed=9)
        assert np.array_equal(x.velocity, y.velocity) and np.array_equal(x.offset, y.offset)
    inside = theta.copy()
    inside[:, col] = 0.5
    assert not np.array_equal(simulate(inside, seed=9).velocity, x.velocity)


def test_a_knob_at_its_bound_means_none_exactly(rng, prior_thetas):
    theta = prior_thetas(rng, 2000, kick_min=0.0)
    for name in (
        "ride",
        "crash",
        "open_hat",
        "open_hat_other",
        "kick_extra",
        "snare_ghosts",
        "hat_16ths",
    ):
        theta[:, IDX[name]] = 0.0
    b = simulate(theta, seed=6)
    on = b.onsets
    assert not on[:, CYMBAL].any() and not on[:, HH_OPEN].any()
    assert not on[:, HH_CLOSED, 1::2].any()  # no 16th hats
    assert not on[:, SNARE][:, ~np.isin(np.arange(64) % 16, (4, 12))].any()  # no ghosts


def test_hat_grid_is_the_same_in_every_beat_of_a_loop_not_of_a_drummer(rng, prior_thetas):
    theta = prior_thetas(rng, 500, kick_min=0.0)
    theta[:, IDX["open_hat"]] = 0.0
    theta[:, IDX["open_hat_other"]] = 0.0
    theta[:, IDX["variation"]] = 0.0
    loop = simulate(theta, seed=8)
    theta[:, IDX["variation"]] = 1.0
    drummer = simulate(theta, seed=8)
    for row in (HH_CLOSED, CYMBAL):
        beats = loop.onsets[:, row].reshape(-1, 4, 4, 4)[:, :, :, 1:]  # skip the crash step
        assert (beats == beats[:, :, :1]).all()
        beats = drummer.onsets[:, row].reshape(-1, 4, 4, 4)[:, :, :, 1:]
        assert not (beats == beats[:, :, :1]).all(axis=(2, 3)).all()


def test_extra_kicks_repeat_in_every_beat_of_a_loop_not_of_a_drummer(rng, prior_thetas):
    theta = prior_thetas(rng, 500, kick_min=0.0)
    theta[:, IDX["kick_pulses"]] = 4.0  # a base kick on every beat: beats differ by extras only
    theta[:, IDX["kick_extra"]] = rng.uniform(0.2, 1.0, len(theta))
    theta[:, IDX["variation"]] = 0.0
    beats = simulate(theta, seed=8).onsets[:, KICK].reshape(-1, 4, 4, 4)
    assert beats[..., 1:].any() and (beats == beats[:, :, :1]).all()
    theta[:, IDX["variation"]] = 1.0
    beats = simulate(theta, seed=8).onsets[:, KICK].reshape(-1, 4, 4, 4)
    assert not (beats == beats[:, :, :1]).all(axis=(2, 3)).all()


def test_a_beat_has_its_off_beat_extra_kick_on_the_and_or_the_a_never_both(rng, prior_thetas):
    theta = prior_thetas(rng, 2000, kick_min=0.0)
    theta[:, IDX["kick_pulses"]] = 0.0  # no base: every kick is an extra
    theta[:, IDX["kick_extra"]] = 1.0  # every beat has its off-beat pair
    theta[:, IDX["variation"]] = rng.uniform(0.0, 1.0, len(theta))
    late = rng.uniform(0.0, 1.0, len(theta))
    theta[:, IDX["kick_late"]] = late
    b = simulate(theta, seed=9)
    beats = b.onsets[:, KICK].reshape(len(b), 16, 4)  # (clip, beat, class)
    assert not (beats[:, :, 2] & beats[:, :, 3]).any()
    assert (beats[:, :, 2] | beats[:, :, 3]).all()  # the pair always sounds, one of the two
    on_a = beats[:, :, 3].mean(axis=1)
    assert abs(on_a.mean() - late.mean()) < 0.03  # P(late) = kick_late
    assert on_a[late < 0.2].mean() < 0.2 and on_a[late > 0.8].mean() > 0.8
    for value, want in ((0.0, 2), (1.0, 3)):  # all on the 'and', or all on the 'a'
        theta[:, IDX["kick_late"]] = value
        beats = simulate(theta, seed=9).onsets[:, KICK].reshape(len(b), 16, 4)
        assert beats[:, :, want].all() and not beats[:, :, 5 - want].any()


def test_bars_are_two_phrases_bar_4_repeats_bar_2():
    busy = {**PLAIN, "kick_extra": 0.5, "snare_ghosts": 0.5, "hat_16ths": 0.5, "open_hat": 0.5}
    b = simulate({**busy, "variation": 0.5}, 4000, seed=5)  # a kick on every downbeat: no rotation
    bars = b.velocity.reshape(len(b), 5, 4, 16) > 0
    same = lambda i, j: (bars[:, :, i] == bars[:, :, j]).all(axis=(1, 2))  # noqa: E731
    new_second = ~same(0, 1)
    # bar 2 drawn afresh: bar 4 repeats it (probability 1 - variation), bar 3 repeats bar 1
    assert 0.45 < same(1, 3)[new_second].mean() < 0.55
    assert 0.45 < same(0, 2)[new_second].mean() < 0.55
    assert same(0, 3)[new_second].mean() < 0.02  # only when bar 4 is afresh and bar 1 again
    assert same(1, 3)[~new_second].mean() > 0.45  # bar 2 repeated bar 1, so does bar 4


def test_accent_and_jitter_make_flat_and_human_dynamics():
    busy = {**PLAIN, "hat_beats": 1.0, "hat_16ths": 1.0, "snare_ghosts": 1.0}
    flat = simulate({**busy, "kick_velocity": 64.0}, 50, seed=2)
    assert np.unique(flat.velocity[flat.onsets]).tolist() == [64, 127]  # kick, the rest
    accented = simulate(
        {**busy, "snare_accent": 0.6, "kick_accent": 0.6, "hat_accent": 0.6}, 50, seed=2
    )
    hats = accented.velocity[:, HH_CLOSED]
    # the whole 8th grid is accented, the 16th fills are not
    assert hats[:, 0::2].min() == 127 and hats[:, 1::2].max() == round(0.4 * 127)
    human = simulate(
        {
            **busy,
            "snare_accent": 0.3,
            "kick_accent": 0.3,
            "hat_accent": 0.3,
            "snare_jitter": 25.0,
            "kick_jitter": 25.0,
            "hat_jitter": 25.0,
        },
        200,
        seed=2,
    )
    assert 20 < human.velocity[human.onsets].std() < 45
    loud_hats = simulate({**busy, "kick_velocity": 40.0, "snare_velocity": 78.5}, 5, seed=2)
    v = loud_hats.velocity
    assert v[:, HH_CLOSED][loud_hats.onsets[:, HH_CLOSED]].min() > v[:, KICK].max()


@pytest.mark.parametrize("instrument", ["snare", "kick", "hat"])
def test_each_instrument_has_its_own_accent_and_jitter(instrument):
    busy = {**PLAIN, "hat_beats": 1.0, "hat_16ths": 1.0, "snare_ghosts": 1.0, "kick_extra": 0.5}
    rows = {"snare": [SNARE], "kick": [KICK], "hat": [HH_CLOSED, HH_OPEN, CYMBAL]}[instrument]
    others = [r for r in range(5) if r not in rows]
    base = simulate(busy, 100, seed=4)
    for knob, value in ((f"{instrument}_accent", 0.7), (f"{instrument}_jitter", 20.0)):
        moved = simulate({**busy, knob: value}, 100, seed=4)
        np.testing.assert_array_equal(moved.velocity[:, others], base.velocity[:, others])
        assert (moved.velocity[:, rows] != base.velocity[:, rows]).any(), knob


def test_each_instrument_plays_at_its_own_velocity():
    kit = {**PLAIN, "hat_beats": 1.0, "open_hat": 0.5, "ride": 1.0, "crash": 1.0}
    base = simulate({**kit, "snare_velocity": 78.5}, 20, seed=4)
    soft = simulate({**kit, "snare_velocity": 78.5, "hat_velocity": 47.1}, 20, seed=4)
    for row in (HH_CLOSED, CYMBAL):
        assert soft.onsets[:, row].any()
        assert np.unique(soft.velocity[:, row][soft.onsets[:, row]]).tolist() == [47]
    assert np.unique(soft.velocity[:, SNARE][soft.onsets[:, SNARE]]).tolist() == [78]
    assert np.unique(soft.velocity[:, KICK][soft.onsets[:, KICK]]).tolist() == [127]
    for row in (KICK, SNARE, HH_OPEN):  # kick, snare and open hats do not move
        assert np.array_equal(base.velocity[:, row], soft.velocity[:, row])
    loud_open = simulate({**kit, "snare_velocity": 78.5, "open_hat_velocity": 110.0}, 20, seed=4)
    assert np.unique(loud_open.velocity[:, HH_OPEN][loud_open.onsets[:, HH_OPEN]]).tolist() == [110]
    for row in (KICK, SNARE, HH_CLOSED, CYMBAL):  # only the open hats move
        assert np.array_equal(base.velocity[:, row], loud_open.velocity[:, row])


def test_swing_is_an_exact_time_warp_of_the_off_16ths():
    b = simulate({**PLAIN, "hat_beats": 1.0, "hat_16ths": 1.0, "swing_16": 0.25}, 2, seed=3)
    hats = b.offset[:, HH_CLOSED]
    assert np.all(hats[:, 1::2] == np.float32(0.25)) and np.all(hats[:, 0::2] == 0)


def test_push_moves_kick_snare_and_hats_separately():
    b = simulate({**PLAIN, "push_ms": -10.0, "hat_push_ms": 12.0}, 3, seed=3, bpm=120.0)
    ms = b.offset_ms
    np.testing.assert_allclose(ms[:, KICK][b.onsets[:, KICK]], -10.0, atol=1e-3)
    np.testing.assert_allclose(ms[:, SNARE][b.onsets[:, SNARE]], -10.0, atol=1e-3)
    np.testing.assert_allclose(ms[:, HH_CLOSED][b.onsets[:, HH_CLOSED]], 12.0, atol=1e-3)


def test_humanize_sd_in_milliseconds_follows_bpm():
    theta = {**PLAIN, "hat_beats": 1.0, "humanize_ms": 10.0}
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
    assert (b.meta["rotation"] > 0).any()  # bars without a strong downbeat kick do occur


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
    named = simulate({"hat_beats": 1.0}, 3, seed=1)
    arr = np.array([k.default for k in KNOBS])
    arr[IDX["hat_beats"]] = 1.0
    assert named.equals(simulate(arr, 3, seed=1))
    assert len(simulate(default_theta(), seed=1)) == 1
    assert len(simulate(default_theta(), 0, seed=1)) == 0


@pytest.mark.parametrize(
    ("theta", "n", "kwargs", "message"),
    [
        ({"cowbell": 1.0}, 1, {}, "Unknown knob 'cowbell'"),
        ({"swing_16": 0.9}, 1, {}, r"'swing_16' knob must be in \[0.0, 0.45\].*got 0.9"),
        (np.zeros(3), 1, {}, "shape"),
        (np.tile([k.default for k in KNOBS], (2, 1)), 3, {}, "2 rows but n=3"),
        ("loud", 1, {}, "numeric"),
    ],
)
def test_bad_theta_names_knob_value_and_range(theta, n, kwargs, message):
    with pytest.raises(KnobError, match=message):
        simulate(theta, n, seed=1, **kwargs)


def test_bad_array_row_is_reported(rng, prior_thetas):
    theta = prior_thetas(rng, 5)
    theta[3, IDX["kick_pulses"]] = 9.5
    with pytest.raises(KnobError, match=r"'kick_pulses' knob must be in \[0.0, 8.0\].*9.5.*row 3"):
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


def test_the_fast_path_is_taken(monkeypatch):
    """simulate() runs the numba-compiled kernel, once per block, and nothing else."""
    from numba.core.registry import CPUDispatcher

    from technorhythm.simulator import _kernel

    assert engine.FAST_PATH and _kernel.AVAILABLE
    assert isinstance(_kernel.simulate_kernel, CPUDispatcher)
    calls = []
    compiled = _kernel.simulate_kernel

    def spy(*args):
        calls.append(len(args[0]))
        return compiled(*args)

    monkeypatch.setattr(_kernel, "simulate_kernel", spy)
    monkeypatch.setattr(engine, "BLOCK_SIZE", 40)
    simulate(default_theta(), 100, seed=1)
    assert calls == [40, 40, 20]
    assert compiled.signatures  # compiled, not run as Python


def test_kernel_layout_is_read_from_the_registry():
    from technorhythm.simulator import _kernel

    assert sorted(_kernel.KERNEL_KNOBS) == sorted(KNOB_NAMES)
    assert [KNOB_NAMES[c] for c in _kernel.COLUMNS] == list(_kernel.KERNEL_KNOBS)


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


def test_kick_pulses_on_a_plateau_play_that_many_pulses_in_every_bar(rng, prior_thetas):
    theta = prior_thetas(rng, 300)
    col = IDX["kick_pulses"]
    a, b, between = theta.copy(), theta.copy(), theta.copy()
    a[:, col] = 4.0 - pt.PULSE_PLATEAU + 1e-6
    b[:, col] = 4.0 + pt.PULSE_PLATEAU - 1e-6
    between[:, col] = 4.5
    x, y = simulate(a, seed=5), simulate(b, seed=5)
    assert np.array_equal(x.velocity, y.velocity) and np.array_equal(x.offset, y.offset)
    assert not np.array_equal(simulate(between, seed=5).velocity, x.velocity)


@pytest.mark.parametrize("name", sorted(pt.SNAPPED))
def test_a_snapped_knob_below_its_width_acts_as_zero(name, rng, prior_thetas):
    theta = prior_thetas(rng, 300)
    col = IDX[name]
    zero, small, width = theta.copy(), theta.copy(), theta.copy()
    zero[:, col] = 0.0
    small[:, col] = pt.SNAPPED[name] * 0.999
    width[:, col] = pt.SNAPPED[name]
    x, y = simulate(zero, seed=8), simulate(small, seed=8)
    assert np.array_equal(x.velocity, y.velocity) and np.array_equal(x.offset, y.offset)
    if get_knob(name).low < 0:  # a signed knob's dead zone is symmetric
        below = theta.copy()
        below[:, col] = -pt.SNAPPED[name] * 0.999
        assert np.array_equal(simulate(below, seed=8).offset, x.offset)
        below[:, col] = -pt.SNAPPED[name]
        assert not np.array_equal(simulate(below, seed=8).offset, x.offset)
    z = simulate(width, seed=8)
    assert not (np.array_equal(z.velocity, x.velocity) and np.array_equal(z.offset, x.offset))
