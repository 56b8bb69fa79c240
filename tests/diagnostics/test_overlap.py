"""MGEval overlap and the LHL syncopation measure."""

from __future__ import annotations

import numpy as np
import pytest

from technorhythm.diagnostics.overlap import distance_overlap, run_overlap, syncopation
from technorhythm.simulator import simulate
from technorhythm.simulator.knobs import default_theta


def _pattern(steps: list[int]) -> np.ndarray:
    on = np.zeros((1, 64), bool)
    for bar in range(4):
        on[0, [16 * bar + s for s in steps]] = True
    return on


def test_syncopation_known_answers():
    assert syncopation(_pattern([0, 4, 8, 12]))[0] == 0  # four on the floor
    assert syncopation(_pattern([0, 2, 4, 6, 8, 10, 12, 14]))[0] == 0  # straight 8ths
    # a lone off-beat 8th (weight −3) before rests up to the next downbeat (weight 0): 3
    assert syncopation(_pattern([2]))[0] == 3
    # anticipated beat 3 (step 7, weight −4) held over the rest on beat 3 (weight −1): 3,
    # the kick on the downbeat scores nothing
    assert syncopation(_pattern([0, 7]))[0] == 3
    assert syncopation(np.zeros((1, 64), bool))[0] == 0


def test_identical_distributions_overlap_and_different_ones_do_not():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 3000), rng.normal(0, 1, 3000)
    oa, kl = distance_overlap(a, b, resolution=0.01)
    assert oa > 0.95 and kl < 0.02
    oa, kl = distance_overlap(a, b + 5, resolution=0.01)
    assert oa < 0.05 and kl > 1
    # all-equal distances (a step-sequencer pack) do not break the density estimate
    oa, kl = distance_overlap(np.zeros(50), np.zeros(40), resolution=1.0)
    assert oa == pytest.approx(1.0, abs=1e-6) and kl == pytest.approx(0.0, abs=1e-6)


def test_run_overlap_against_its_floor():
    theta = default_theta()
    real = simulate(theta, 80, seed=1)
    same = run_overlap(real, simulate(theta, 200, seed=2))
    other = run_overlap(
        real,
        simulate(
            {**theta, "hat_16ths": 1.0, "hat_velocity": 49.4, "kick_velocity": 61.75}, 200, seed=2
        ),
    )
    assert list(same.feature) == ["density", "syncopation", "velocity"]
    assert (same.oa > same.oa_floor - 0.15).all()
    assert (other.set_index("feature").loc[["density", "velocity"], "oa"] < 0.3).all()
