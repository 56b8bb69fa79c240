import numpy as np
import pytest

from technorhythm.clips import (
    HH_CLOSED,
    HH_OPEN,
    KICK,
    N_STEPS,
    CanonicalConfig,
    ClipBatch,
    canonicalize,
    step_ms,
)


def _clip():
    v = np.zeros((1, 5, N_STEPS), np.uint8)
    o = np.zeros((1, 5, N_STEPS), np.float32)
    return v, o


def test_step_ms_at_128_bpm():
    assert step_ms(128.0) == pytest.approx(60_000 / 128 / 4)


def test_choke_clears_closed_hat_under_open_hat():
    v, o = _clip()
    v[0, HH_CLOSED, [2, 6]] = 80
    o[0, HH_CLOSED, 2] = 0.1
    v[0, HH_OPEN, 2] = 90
    v2, o2, rot = canonicalize(v, o)
    assert v2[0, HH_CLOSED, 2] == 0 and o2[0, HH_CLOSED, 2] == 0
    assert v2[0, HH_CLOSED, 6] == 80
    assert rot[0] == 0
    assert v[0, HH_CLOSED, 2] == 80  # input untouched


def test_rotation_to_first_bar_with_strong_kick():
    v, o = _clip()
    v[0, KICK, 20] = 30  # weak kick, not on a bar line
    v[0, KICK, 32] = 100  # strong kick on the downbeat of bar 3
    v[0, KICK, 48] = 40  # weak: below half of the loudest kick
    v2, _, rot = canonicalize(v, o)
    assert rot[0] == 32
    assert v2[0, KICK, 0] == 100
    assert v2[0, KICK, (20 - 32) % N_STEPS] == 30
    # by beats instead of bars, the weak off-bar kick at step 20 is on a beat but too soft
    _, _, rot_beats = canonicalize(v, o, CanonicalConfig(rotation_unit=4))
    assert rot_beats[0] == 32


def test_clip_without_kick_is_not_rotated():
    v, o = _clip()
    v[0, HH_CLOSED, 3] = 50
    v2, _, rot = canonicalize(v, o)
    assert rot[0] == 0 and v2[0, HH_CLOSED, 3] == 50


def test_clipbatch_validates_shapes_and_ranges():
    v, o = _clip()
    with pytest.raises(ValueError, match="shape"):
        ClipBatch(v[:, :4], o[:, :4], [120.0])
    o[0, 0, 0] = 0.5
    with pytest.raises(ValueError, match=r"\[-0.5, 0.5\)"):
        ClipBatch(v, o, [120.0])


def test_clipbatch_indexing_concat_and_ms():
    v, o = _clip()
    v[0, KICK, 0] = 100
    o[0, KICK, 0] = -0.25
    b = ClipBatch.concat([ClipBatch(v, o, [120.0]), ClipBatch.empty(2)])
    assert len(b) == 3
    assert b[0].equals(ClipBatch(v, o, [120.0]))
    assert b.onsets.sum() == 1
    assert b.offset_ms[0, KICK, 0] == pytest.approx(-0.25 * 125.0)
    assert len(b[1:]) == 2


def test_invalid_canonical_config():
    with pytest.raises(ValueError, match="rotation_unit"):
        CanonicalConfig(rotation_unit=3)
