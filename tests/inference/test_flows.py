"""The conditional flow: reaches the bounds, known-answer posterior, round trip of its state."""

from __future__ import annotations

import numpy as np
import pytest

from technorhythm.inference.flows import BoxLogit, ConditionalFlow

pytestmark = pytest.mark.filterwarnings("ignore:Maximum number of epochs")


def test_box_logit_round_trip_and_jacobian(rng):
    box = BoxLogit(np.array([[0.0, 1.0], [-2.0, 6.0]]))
    theta = np.column_stack([rng.uniform(0, 1, 50), rng.uniform(-2, 6, 50)])
    np.testing.assert_allclose(box.inverse(box.forward(theta)), theta, atol=1e-9)
    # numerical derivative of the forward map, knob by knob
    eps = 1e-6
    num = sum(
        np.log(
            np.abs((box.forward(theta + eps * e) - box.forward(theta - eps * e))[:, i] / (2 * eps))
        )
        for i, e in enumerate(np.eye(2))
    )
    np.testing.assert_allclose(box.log_det_forward(theta), num, rtol=1e-5)
    # values on a bound stay finite
    assert np.all(np.isfinite(box.forward(np.array([[0.0, 6.0]]))))


@pytest.fixture(scope="module")
def bound_flow():
    """q(u | c) for u = logit of a value that is 0.0005 when c = 0 and uniform when c = 1."""
    rng = np.random.default_rng(0)
    c = rng.integers(0, 2, 4000).astype(float)
    u = np.where(c == 0, 0.0005 + 0.0002 * rng.random(4000), rng.random(4000))
    box = BoxLogit(np.array([[0.0, 1.0]]))
    flow = ConditionalFlow(hidden_features=16, num_transforms=2, max_num_epochs=60, seed=1)
    flow.fit(box.forward(u[:, None]), np.column_stack([c, 1 - c]))
    return flow, box


def test_standardised_flow_puts_mass_next_to_a_bound(bound_flow):
    flow, box = bound_flow
    draws = box.inverse(flow.sample(np.array([[0.0, 1.0], [1.0, 0.0]]), 2000, seed=0))
    near = draws[:, 0, 0]
    # the unstandardised logit flow could not come closer than sigmoid(-5) = 0.0067
    assert np.quantile(near, 0.9) < 0.003
    wide = draws[:, 1, 0]
    assert 0.3 < wide.mean() < 0.7 and wide.std() > 0.2


def test_state_round_trip_is_exact(bound_flow):
    flow, _ = bound_flow
    tensors, record = flow.state()
    back = ConditionalFlow.from_state(tensors, record)
    c = np.array([[0.0, 1.0]])
    np.testing.assert_array_equal(flow.sample(c, 50, seed=3), back.sample(c, 50, seed=3))
    t = flow.sample(c, 5, seed=4)
    np.testing.assert_allclose(flow.log_prob(t, c), back.log_prob(t, c))


def test_bad_input_is_named():
    flow = ConditionalFlow(max_num_epochs=1)
    with pytest.raises(ValueError, match="agree"):
        flow.fit(np.zeros((5, 1)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="constant"):
        flow.fit(np.random.default_rng(0).random((5, 1)), np.ones((5, 2)))
    with pytest.raises(ValueError, match="not trained"):
        flow.sample(np.zeros((1, 2)), 3, seed=0)


def _toy(n=2000, seed=0):
    """t = 2c + noise: a Gaussian posterior the flow learns in a few epochs."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(n, 1))
    return 2.0 * c + 0.3 * rng.normal(size=(n, 1)), np.column_stack([c, rng.normal(size=n)])


def test_annealing_runs_its_epochs_at_the_smaller_rate_and_keeps_the_best_weights():
    t, c = _toy()
    kw = dict(hidden_features=8, num_transforms=1, training_batch_size=200, seed=2)
    plain = ConditionalFlow(max_num_epochs=3, **kw).fit(t, c)
    annealed = ConditionalFlow(max_num_epochs=3, anneal_epochs=3, anneal_factor=0.1, **kw).fit(t, c)
    h = annealed.history_
    # the first phase is the plain run, bit for bit; then exactly three more epochs
    assert h["validation_loss"][:4] == plain.history_["validation_loss"]
    assert len(h["validation_loss"]) == 7 and h["anneal_from_epoch"] == 4
    assert h["best_validation_loss"] == min(h["validation_loss"])
    assert h["best_validation_loss"] <= plain.history_["best_validation_loss"]
    assert plain.history_["anneal_from_epoch"] is None


def test_annealing_follows_an_early_stopped_first_phase():
    t, c = _toy()
    # patience 1 over many epochs: the first phase stops early, the second still runs
    flow = ConditionalFlow(
        hidden_features=8,
        num_transforms=1,
        training_batch_size=200,
        learning_rate=0.05,
        stop_after_epochs=1,
        max_num_epochs=200,
        anneal_epochs=2,
        seed=3,
    ).fit(t, c)
    h = flow.history_
    assert h["converged"] and h["anneal_from_epoch"] < 200
    assert len(h["validation_loss"]) > h["anneal_from_epoch"]


@pytest.mark.parametrize(
    ("option", "value", "match"),
    [("anneal_epochs", -1, "anneal_epochs"), ("anneal_factor", 0.0, "anneal_factor")],
)
def test_bad_annealing_options_are_named(option, value, match):
    t, c = _toy(50)
    with pytest.raises(ValueError, match=match):
        ConditionalFlow(**{option: value}).fit(t, c)
