"""The kick sub-model: its exact likelihood against the simulator's own clips."""

from __future__ import annotations

import numpy as np
import pytest

from technorhythm.inference import kick_submodel as km
from technorhythm.simulator.knobs import KNOB_NAMES, default_theta


def _clip(bars: list[str]) -> np.ndarray:
    """A kick row from four 16-character bars ('x' = kick)."""
    return np.array([[c == "x" for c in bar] for bar in bars], dtype=bool)


FOUR_ON_THE_FLOOR = _clip(["x...x...x...x..."] * 4)


def test_full_theta_varies_only_the_three_knobs():
    full = km.full_theta(np.array([[3.5, 0.2, 0.7]]))[0]
    expected = {**default_theta(), **km.FIXED}
    for name, value in zip(KNOB_NAMES, full, strict=True):
        want = dict(zip(km.KNOBS, (3.5, 0.2, 0.7), strict=True)).get(name, expected[name])
        assert value == want
    assert km.bounds().tolist() == [[0.0, 8.0], [0.0, 1.0], [0.0, 1.0]]


@pytest.mark.slow
@pytest.mark.parametrize(
    "theta",
    [(3.4, 0.08, 0.3), (0.6, 0.3, 0.7), (7.5, 0.9, 0.05), (1.5, 0.5, 0.5)],
    ids=["tresillo-ish", "sparse-rotating", "dense", "middle"],
)
def test_likelihood_is_the_simulators_pattern_frequency(theta):
    """The 40 most frequent clips of one half of 300 000 simulated clips: their frequency
    in the other half against the exact probability."""
    rows = km.simulate_rows(np.array(theta), 300_000, seed=3)[0].reshape(300_000, -1)
    pick, test = rows[:150_000], rows[150_000:]
    keys, counts = np.unique(pick, axis=0, return_counts=True)
    patterns = keys[np.argsort(-counts)[:40]]
    seen, seen_counts = np.unique(test, axis=0, return_counts=True)
    lookup = {k.tobytes(): c for k, c in zip(seen, seen_counts, strict=True)}
    freq = np.array([lookup.get(p.tobytes(), 0) for p in patterns]) / len(test)
    prob = np.exp(
        [
            km.log_likelihood(km.likelihood_data(p.reshape(1, 4, 16)), np.array(theta))
            for p in patterns
        ]
    )
    z = (freq - prob) / np.sqrt(prob * (1 - prob) / len(test))
    assert np.abs(z).max() < 4.5
    assert 0.4 < np.mean(z**2) < 2.0  # chi² per pattern near 1
    total_z = (freq.sum() - prob.sum()) / np.sqrt(prob.sum() * (1 - prob.sum()) / len(test))
    assert abs(total_z) < 4.0


def test_repeated_clips_count_once_each_time(rng):
    rows = km.simulate_rows(np.array([2.5, 0.3, 0.4]), 6, seed=1)[0]
    doubled = km.likelihood_data(np.concatenate([rows, rows]))
    single = km.likelihood_data(rows)
    assert doubled.n_clips == 12 and len(doubled) == len(single)
    theta = np.array([[2.4, 0.25, 0.5], [2.9, 0.4, 0.2]])
    np.testing.assert_allclose(
        km.log_likelihood(doubled, theta), 2 * km.log_likelihood(single, theta)
    )
    # one θ at a time gives the same as a batch
    assert km.log_likelihood(single, theta[1]) == pytest.approx(km.log_likelihood(single, theta)[1])


def test_impossible_clips_have_zero_likelihood():
    data = km.likelihood_data(FOUR_ON_THE_FLOOR[None])
    # four-on-the-floor with no extra kicks needs 4 pulses in some bar: 3 ≤ pulses ≤ 5
    assert np.isfinite(km.log_likelihood(data, np.array([4.0, 0.0, 0.5])))
    assert km.log_likelihood(data, np.array([2.5, 0.0, 0.5])) == -np.inf
    assert np.isfinite(km.log_likelihood(data, np.array([2.5, 0.1, 0.5])))  # extras fill in


def test_only_canonical_rotations_are_possible():
    # at pulses 0.5 every bar below is possible (base E(0) or E(1), extras fill in) ...
    theta = np.array([0.5, 0.5, 0.5])
    bars = ["..x.....x.......", "x...x...x...x...", "x...x...x...x...", "x..............."]
    canonical = _clip(bars[1:] + bars[:1])  # rotated so that a downbeat kick leads
    no_downbeat = _clip(["..x.....x......."] * 3 + ["...x............"])
    for clip in (canonical, no_downbeat):
        assert np.isfinite(km.log_likelihood(km.likelihood_data(clip[None]), theta))
    # ... but a canonical clip never starts with a downbeat-less bar when a later bar has one
    late = _clip(bars)
    assert km.log_likelihood(km.likelihood_data(late[None]), theta) == -np.inf
    # the canonical clip was not rotated, or was ``bars`` rotated by one bar; not rotated by
    # two or three bars, which would have put its bar 3 (a downbeat kick) in front
    assert km.likelihood_data(canonical[None]).rotations[0].tolist() == [True, True, False, False]


def test_a_strict_loop_of_four_on_the_floor():
    data = km.likelihood_data(FOUR_ON_THE_FLOOR[None])
    # at pulses = 4, no extras: bar 1 is certain and bars 2-4 repeat it or are drawn alike
    for v in (0.0, 0.3, 1.0):
        assert km.log_likelihood(data, np.array([4.0, 0.0, v])) == pytest.approx(0.0, abs=1e-12)
    # 4.25 is on the plateau of 4 (v8): every bar has 4 pulses
    assert km.log_likelihood(data, np.array([4.25, 0.0, 1.0])) == pytest.approx(0.0, abs=1e-12)
    # 4.375 acts as 4.25: a bar has 4 pulses with probability 0.75
    p = km.log_likelihood(data, np.array([4.375, 0.0, 1.0]))
    assert p == pytest.approx(4 * np.log(0.75))


def _loglik(bars, theta) -> float:
    return km.log_likelihood(km.likelihood_data(np.stack(bars)[None]), np.array(theta))


def _loop(group: float, v: float) -> float:
    """A bar whose beats all play the same, as a factor per group of beats: the shared
    group decides once, each beat that decides on its own (w.p. v²) alone."""
    return group * (1 - v**2 + v**2 * group) ** 3


def test_extra_kicks_are_shared_by_beats_and_bar_4_repeats_bar_2():
    """Closed forms at 4 pulses (E(4, 8) on every beat, so no rotation and no base step
    off the beats): the rules of simulator v6, derived by hand."""
    extra, v, late = 0.4, 0.3, km.fixed_value("kick_late")
    p1, p2 = extra * 0.3, extra * 1.0  # the 'e'; the pair ('and' or 'a')
    plain = _clip(["x...x...x...x..."])[0]
    ands = _clip(["x.x.x.x.x.x.x.x."])[0]  # an extra kick on every 'and'
    one_and = _clip(["x.x.x...x...x..."])[0]  # only beat 1's 'and'
    none, all_ands = (1 - p1) * (1 - p2), (1 - p1) * p2 * (1 - late)  # one group's

    def loglik(bars, theta=(4.0, extra, v)) -> float:
        return _loglik(bars, theta)

    a, b = _loop(none, v), _loop(all_ands, v)
    c = v**6 * all_ands * none**3  # beats 2-4 must all decide on their own
    # bar 4 repeats bar 2, not bar 1
    assert loglik([plain, ands, plain, ands]) == pytest.approx(
        np.log(a * v * b * (1 - v + v * a) * (1 - v + v * b))
    )
    assert loglik([plain, ands, ands, plain]) == pytest.approx(np.log(a * (v * b) ** 2 * v * a))
    assert loglik([plain, plain, ands, plain]) == pytest.approx(
        np.log(a * (1 - v + v * a) * v * b * (1 - v + v * a))
    )
    # an extra kick of beat 1 is one of every beat that does not decide on its own
    assert loglik([one_and] * 4) == pytest.approx(np.log(c * (1 - v + v * c) ** 3))
    assert loglik([ands] * 4, (4.0, extra, 0.0)) == pytest.approx(np.log(all_ands))
    assert loglik([one_and] * 4, (4.0, extra, 0.0)) == -np.inf


@pytest.mark.parametrize("late", [0.5, 0.2])
def test_the_off_beat_pair_plays_the_and_or_the_a_never_both(late, monkeypatch):
    """The pair rule of simulator v6 by hand: per group of beats one 'whether' (p) and one
    'where' (late: ℓ) decision; kick_late read from the registry (here also moved)."""
    if late != 0.5:
        monkeypatch.setitem(km.FIXED, "kick_late", late)
    assert km.fixed_value("kick_late") == late
    extra, v = 0.4, 0.3
    p1, p2 = extra * 0.3, extra * 1.0
    ands, as_ = (1 - p1) * p2 * (1 - late), (1 - p1) * p2 * late  # one group's, at 4 pulses

    def loop(bar: str, pulses: float = 4.0) -> float:
        return _loglik([_clip([bar])[0]] * 4, (pulses, extra, v))

    def clip(lik: float) -> float:  # four equal bars
        return np.log(lik * (1 - v + v * lik) ** 3)

    assert loop("x..xx..xx..xx..x") == pytest.approx(clip(_loop(as_, v)))  # every 'a'
    # beat 1 plays the 'and', beats 2-4 the 'a': beats 2-4 decide on their own
    assert loop("x.x.x..xx..xx..x") == pytest.approx(clip(v**6 * ands * as_**3))
    # beats 1 and 2 the 'a', beats 3 and 4 the 'and': beat 2 shares beat 1's or not
    mixed = as_ * (1 - v**2 + v**2 * as_) * (v**2 * ands) ** 2
    assert loop("x..xx..xx.x.x.x.") == pytest.approx(clip(mixed))
    # never both the 'and' (off the base) and the 'a' of one beat, whatever the θ
    for theta in ((4.0, extra, v), (4.0, 1.0, 1.0), (0.5, 0.9, 0.9), (2.5, 0.5, 0.5)):
        assert _loglik([_clip(["x.xxx...x...x..."])[0]] * 4, theta) == -np.inf
    # at 8 pulses every 'and' is a base step: a bar of 8ths is "whether off" or "on,
    # early" (1 - p2·ℓ); the 'a' plays with a base kick on the 'and' (p2·ℓ)
    either = (1 - p1) * (1 - p2 * late)
    assert loop("x.x.x.x.x.x.x.x.", 8.0) == pytest.approx(clip(_loop(either, v)))
    assert loop("x.xxx.xxx.xxx.xx", 8.0) == pytest.approx(clip(_loop(as_, v)))
    assert loop("x.xxx.x.x.x.x.x.", 8.0) == pytest.approx(clip(v**6 * as_ * either**3))


def test_summaries_of_known_clips():
    sets = np.stack([np.stack([FOUR_ON_THE_FLOOR] * 3)])
    x = km.summaries(sets)[0]
    named = dict(zip(km.summary_names(), x, strict=True))
    assert len(x) == len(km.summary_names()) == 87
    assert [named[f"onset_{p}"] for p in range(16)] == [1.0, 0, 0, 0] * 4
    assert named["base_4"] == 1.0 and named["base_none"] == 0.0
    # four-on-the-floor holds E(0), E(1), E(2) and E(4) (not E(3): x..x..x. on 8ths)
    assert [named[f"holds_base_{k}"] for k in range(9)] == [1, 1, 1, 0, 1, 0, 0, 0, 0]
    assert named["extras_base_4_beat"] == 0 and named["extras_base_2_beat"] == 2  # beats 2, 4
    assert named["bars_equal_first"] == 1.0 and named["distinct_bars_1"] == 1.0
    # every beat plays as beat 1 (the beats-agree statistic is 0 for a base no bar holds)
    assert named["beats_agree_16ths"] == 1.0 and named["beats_agree_16ths_sd"] == 0.0
    assert [named[f"beats_agree_base_{k}"] for k in range(9)] == [1, 1, 1, 0, 1, 0, 0, 0, 0]
    # a clip with an 'a' kick in beat 1 only next to four-on-the-floor
    a_once = _clip(["x..xx...x...x..."] * 4)
    x = km.summaries(np.stack([FOUR_ON_THE_FLOOR, a_once])[None])[0]
    named = dict(zip(km.summary_names(), x, strict=True))
    assert named["beats_agree_16ths"] == 0.5 and named["beats_agree_16ths_sd"] == 0.5
    assert named["extras_base_4_a"] == 0.5 and named["extras_base_4_beat"] == 0.0
    # off the bases both clips hold, beats 2-4 of a_once differ from beat 1 on the 'a'
    for k in (1, 2, 4):
        assert named[f"beats_agree_base_{k}"] == 0.5
    with pytest.raises(ValueError, match="shape"):
        km.summaries(sets[0])


def test_simulated_summaries_match_their_rows():
    theta = np.array([[1.2, 0.1, 0.9], [6.6, 0.7, 0.1]])
    rows = km.simulate_rows(theta, 8, seed=4)
    np.testing.assert_array_equal(
        km.simulate_summaries(theta, 8, seed=4, chunk_clips=8), km.summaries(rows)
    )
