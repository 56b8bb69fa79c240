"""BoxFlow: q(θ | x) on a box that reaches the bounds, and its save/load round trip."""

from __future__ import annotations

import numpy as np
import pytest

from technorhythm.inference.box_flow import BoxFlow, truncated_box
from technorhythm.inference.estimator import NotFittedError

pytestmark = pytest.mark.filterwarnings("ignore:Maximum number of epochs")

BOUNDS = np.array([[0.0, 1.0], [2.0, 10.0]])


@pytest.fixture(scope="module")
def trained():
    """θ uniform on the box, except that a third of the θ have both knobs within 0.2 % of
    the range from the lower bound; observed with small noise: the posterior sits at x."""
    rng = np.random.default_rng(0)
    unit = rng.random((4000, 2))
    unit[: len(unit) // 3] *= 0.002
    theta = BOUNDS[:, 0] + unit * (BOUNDS[:, 1] - BOUNDS[:, 0])
    x = theta + rng.normal(0.0, 0.002, theta.shape) * (BOUNDS[:, 1] - BOUNDS[:, 0])
    flow = BoxFlow(BOUNDS, hidden_features=16, num_transforms=2, max_num_epochs=60, seed=1)
    return flow.fit(theta, x)


def test_draws_follow_the_observation_and_stay_in_the_box(trained):
    draws = trained.sample(np.array([0.5, 6.0]), 2000, seed=3)
    assert draws.shape == (2000, 2)
    assert np.all(draws >= BOUNDS[:, 0]) and np.all(draws <= BOUNDS[:, 1])
    median = np.median(draws, axis=0)
    assert abs(median[0] - 0.5) < 0.05 and abs(median[1] - 6.0) < 0.4, median


def test_draws_reach_closer_to_a_bound_than_the_unscaled_logit_wall(trained):
    # sbi's logit transform without z-scoring ends the spline domain at sigmoid(-5) of the
    # range (0.0067); an observation at the bound has nearly all of its posterior below that
    # (the third of the training θ there, against 0.0067 × 2/3 of the uniform rest).
    draws = trained.sample(np.array([0.0, 2.0]), 2000, seed=4)
    width = BOUNDS[:, 1] - BOUNDS[:, 0]
    share = np.mean((draws - BOUNDS[:, 0]) / width < 0.0067, axis=0)
    assert np.all(share > 0.5), share


def test_save_and_load_give_the_same_draws(trained, tmp_path):
    trained.save(tmp_path / "flow")
    again = BoxFlow.load(tmp_path / "flow")
    x = np.array([0.3, 4.0])
    np.testing.assert_array_equal(trained.sample(x, 50, seed=5), again.sample(x, 50, seed=5))


def test_bad_input_is_refused(trained):
    with pytest.raises(ValueError, match="outside the bounds"):
        BoxFlow(BOUNDS).fit(np.array([[1.5, 3.0]]), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="shape"):
        BoxFlow(BOUNDS).fit(np.zeros((3, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="one observation"):
        trained.sample(np.zeros((2, 2)), 10, seed=0)
    with pytest.raises(NotFittedError):
        BoxFlow(BOUNDS).sample(np.zeros(2), 10, seed=0)


def test_truncated_box_spans_the_quantiles_widened_and_clipped():
    rng = np.random.default_rng(0)
    draws = np.column_stack([rng.normal(0.5, 0.01, 100_000), rng.normal(0.02, 0.05, 100_000)])
    box = truncated_box(draws, np.array([[0.0, 1.0], [0.0, 1.0]]), quantile=1e-3, margin=0.5)
    # normal 0.1 % quantiles sit at ±3.09 sd; widened by half the width on each side
    np.testing.assert_allclose(box[0], [0.5 - 2 * 3.09 * 0.01, 0.5 + 2 * 3.09 * 0.01], atol=2e-3)
    assert box[1, 0] == 0.0  # clipped to the bound, not below it
    np.testing.assert_allclose(box[1, 1], 0.02 + 2 * 3.09 * 0.05, atol=0.01)
    inside = (draws >= box[:, 0]) & (draws <= box[:, 1])
    assert inside[:, 0].all()  # the margin covers well past the 0.1 % tails
    assert inside[draws[:, 1] >= 0.0, 1].all()


def test_truncated_box_refuses_bad_input():
    bounds = np.array([[0.0, 1.0]])
    with pytest.raises(ValueError, match="shape"):
        truncated_box(np.zeros((5, 2)), bounds)
    with pytest.raises(ValueError, match="degenerate"):
        truncated_box(np.full((5, 1), 1.0), bounds)  # every draw on the upper bound
    with pytest.raises(ValueError, match="quantile"):
        truncated_box(np.zeros((5, 1)), bounds, quantile=0.6)
