"""One exact monotone test per knob, by common random numbers.

The same seed gives every θ the same uniforms and every decision is
``u < threshold(p(θ))`` with ``p`` non-decreasing in its knob, so raising one knob
(others fixed) must move its statistic the right way in *every* clip, not just on
average. The base θs are random draws from the prior (see the ``prior_thetas`` fixture:
the canonical rotation stays 0, so clips stay aligned step by step).
"""

import numpy as np
import pytest

from technorhythm.clips import CYMBAL, HH_CLOSED, HH_OPEN, KICK, SNARE, STEPS_PER_BAR, step_ms
from technorhythm.simulator.engine import simulate
from technorhythm.simulator.knobs import KNOB_NAMES, KNOBS
from technorhythm.simulator.patterns import ACCENT_KNOBS, JITTER_KNOBS, LEVEL_KNOBS

STEP = np.arange(64)
ROWS = np.arange(5)
ON_8TH_GRID = STEP % 2 == 0
OFF_16TH = STEP % 2 == 1
OFF_8TH = STEP % 4 == 2
ON_BEAT = STEP % 4 == 0
ON_A = STEP % 4 == 3
BACKBEAT = np.isin(STEP % 16, (4, 12))
DOWNBEAT = STEP % 16 == 0
IDX = {name: i for i, name in enumerate(KNOB_NAMES)}


def _count(batch, row, where=slice(None)):
    return batch.onsets[:, row][:, where].sum(axis=1).astype(float)


def _count_base(batch, theta):
    """Kicks the base pulses account for (the pulse count of each bar, from the same seed)."""
    base = theta.copy()
    base[:, IDX["kick_extra"]] = 0.0
    return _count(simulate(base, seed=31), KICK)


def swing_stat(batch, theta):
    return np.where(batch.onsets[:, :, OFF_16TH], batch.offset[:, :, OFF_16TH], 0).sum(axis=(1, 2))


def humanize_stat(batch, theta):
    """Σ |offset − (swing + push)|: the spread around the swung, pushed grid (in steps)."""
    ms = step_ms(batch.bpm)[:, None, None]
    push = np.where(
        ROWS[:, None] < HH_CLOSED,
        theta[:, IDX["push_ms"], None, None],
        theta[:, IDX["hat_push_ms"], None, None],
    )
    grid = theta[:, IDX["swing_16"], None, None] * OFF_16TH + push / ms
    return np.where(batch.onsets, np.abs(batch.offset - grid), 0).sum(axis=(1, 2))


def _offset_sum(rows):
    def stat(batch, theta):
        return np.where(batch.onsets[:, rows], batch.offset[:, rows], 0).sum(axis=(1, 2))

    return stat


def _velocity_sum(rows, sign=1.0):
    def stat(batch, theta):
        return sign * batch.velocity[:, rows].sum(axis=(1, 2)).astype(float)

    return stat


def _jitter_stat(name, rows):
    def stat(batch, theta):
        """Σ |velocity − velocity without the jitter| over ``rows`` (same seed): their
        spread around the accents."""
        flat = theta.copy()
        flat[:, IDX[name]] = 0.0
        plain = _unrotated(simulate(flat, seed=31)).astype(float)
        return np.abs(_unrotated(batch) - plain)[:, rows].sum(axis=(1, 2))

    return stat


def _unrotated(batch, values=None):
    """Velocities (or ``values``) as simulated, before the canonical rotation (velocity
    knobs may change which downbeat kick is the strong anchor)."""
    rot = batch.meta["rotation"].to_numpy()
    cols = (np.arange(64)[None, :] - rot[:, None]) % 64
    values = batch.velocity if values is None else values
    return np.take_along_axis(values, cols[:, None, :], axis=2)


def variation_stat(batch, theta):
    """Bars whose kick, snare and open-hat pattern differs from their phrase's first bar
    (bars 2 and 3 from bar 1, bar 4 from bar 2; closed hats and ride also vary within the
    bar, so a redrawn bar can come back equal to a redrawn bar 1)."""
    bars = batch.onsets.reshape(len(batch), 5, 4, STEPS_PER_BAR)[:, [KICK, SNARE, HH_OPEN]]
    same = (bars[:, :, 1:] == bars[:, :, [0, 0, 1]]).all(axis=(1, 3))
    return (~same).sum(axis=1).astype(float)


KICK_SNARE = [KICK, SNARE]
HATS = [HH_CLOSED, HH_OPEN, CYMBAL]
STATISTICS = {
    "swing_16": swing_stat,
    "humanize_ms": humanize_stat,
    "push_ms": _offset_sum(KICK_SNARE),
    "hat_push_ms": _offset_sum(HATS),
    "snare_velocity": _velocity_sum([SNARE]),
    "kick_velocity": _velocity_sum([KICK]),
    "hat_velocity": _velocity_sum([HH_CLOSED, CYMBAL]),
    "open_hat_velocity": _velocity_sum([HH_OPEN]),
    # every velocity of the instrument drops or stays
    "snare_accent": _velocity_sum([SNARE], sign=-1.0),
    "kick_accent": _velocity_sum([KICK], sign=-1.0),
    "hat_accent": _velocity_sum([HH_CLOSED, HH_OPEN, CYMBAL], sign=-1.0),
    "snare_jitter": _jitter_stat("snare_jitter", [SNARE]),
    "kick_jitter": _jitter_stat("kick_jitter", [KICK]),
    "hat_jitter": _jitter_stat("hat_jitter", [HH_CLOSED, HH_OPEN, CYMBAL]),
    "kick_pulses": lambda b, t: _count(b, KICK, ON_8TH_GRID),
    "kick_extra": lambda b, t: _count(b, KICK) - _count_base(b, t),
    "kick_late": lambda b, t: _count(b, KICK, ON_A),
    "backbeat": lambda b, t: _count(b, SNARE, BACKBEAT),
    "snare_ghosts": lambda b, t: _count(b, SNARE, ~BACKBEAT),
    "hat_beats": lambda b, t: _count(b, HH_CLOSED, ON_BEAT) + _count(b, HH_OPEN, ON_BEAT),
    "hat_offbeats": lambda b, t: _count(b, HH_CLOSED, OFF_8TH) + _count(b, HH_OPEN, OFF_8TH),
    "hat_16ths": lambda b, t: _count(b, HH_CLOSED, OFF_16TH) + _count(b, HH_OPEN, OFF_16TH),
    "open_hat": lambda b, t: _count(b, HH_OPEN, OFF_8TH),
    "open_hat_other": lambda b, t: _count(b, HH_OPEN, ~OFF_8TH),
    "ride": lambda b, t: _count(b, CYMBAL, ~DOWNBEAT),
    "crash": lambda b, t: _count(b, CYMBAL, DOWNBEAT),
    "variation": variation_stat,
}


def test_every_knob_has_a_monotone_statistic():
    assert set(STATISTICS) == set(KNOB_NAMES)


@pytest.mark.parametrize("knob", KNOBS, ids=KNOB_NAMES)
def test_raising_a_knob_moves_its_statistic_in_every_clip(knob, rng, prior_thetas):
    base = prior_thetas(rng, 400)
    stat = STATISTICS[knob.name]
    values = knob.low + np.array([0.0, 0.2, 0.5, 0.8, 1.0]) * (knob.high - knob.low)
    previous = None
    for v in values:
        theta = base.copy()
        theta[:, IDX[knob.name]] = v
        current = stat(simulate(theta, seed=31), theta)
        if previous is not None:
            assert np.all(current >= previous - 1e-5), f"{knob.name} fell in some clip at {v}"
            assert current.mean() > previous.mean(), f"{knob.name} had no effect at {v}"
        previous = current


TIMING = ("swing_16", "humanize_ms", "push_ms", "hat_push_ms")
DYNAMICS = (*LEVEL_KNOBS, *ACCENT_KNOBS, *JITTER_KNOBS)


@pytest.mark.parametrize("knob", TIMING + DYNAMICS)
def test_timing_and_dynamics_knobs_leave_the_pattern_alone(knob, rng, prior_thetas):
    base = prior_thetas(rng, 200)
    lo, hi = base.copy(), base.copy()
    k = KNOBS[IDX[knob]]
    lo[:, IDX[knob]], hi[:, IDX[knob]] = k.low, k.high
    a, b = simulate(lo, seed=3), simulate(hi, seed=3)
    assert np.array_equal(_unrotated(a, a.onsets), _unrotated(b, b.onsets))
    if knob in TIMING:
        assert np.array_equal(a.velocity, b.velocity)
    else:
        assert np.array_equal(_unrotated(a, a.offset), _unrotated(b, b.offset))
