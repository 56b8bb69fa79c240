"""The conditional affine head of the spline flow: where it sits, what it sees, its state."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from technorhythm.inference.affine_head import add_affine_head, has_affine_head
from technorhythm.inference.flows import ConditionalFlow
from technorhythm.inference.population_training import population_command

pytestmark = pytest.mark.filterwarnings("ignore:Maximum number of epochs")


@pytest.fixture(scope="module")
def headed_flow():
    """A small flow with the head, trained on t = (c0, c1) + 0.01 noise."""
    rng = np.random.default_rng(0)
    c = rng.uniform(-1, 1, (3000, 3))
    t = c[:, :2] + 0.01 * rng.standard_normal((3000, 2))
    flow = ConditionalFlow(
        hidden_features=16,
        num_transforms=2,
        embedding_features=(16,),
        passes=2,
        affine_head=True,
        max_num_epochs=3,
        seed=2,
    )
    return flow.fit(t, c)


def test_head_sits_between_the_z_scoring_and_the_splines(headed_flow):
    net = headed_flow.network_
    kinds = [type(m).__name__ for m in net.net.transform.transforms]
    assert kinds[0] == "UnconditionalTransform"  # sbi's z-scoring of the targets
    assert has_affine_head(net)
    head = net.net.transform.transforms[1]
    assert head.passes == 1 and head.univariate.__name__ == "MonotonicAffineTransform"
    assert len(kinds) == 2 + 2  # z-score, head, two spline transforms
    with pytest.raises(ValueError, match="already has an affine head"):
        add_affine_head(net, 2, 16, 16)


def test_head_depends_on_the_condition_only(headed_flow):
    """Changing one target dimension moves no other dimension's output of the head."""
    head = headed_flow.network_.net.transform.transforms[1]
    context = torch.randn(4, 16)
    x = torch.randn(4, 2)
    moved = x.clone()
    moved[:, 0] += 3.0
    with torch.no_grad():
        y, y_moved = head(context)(x), head(context)(moved)
    assert torch.equal(y[:, 1], y_moved[:, 1])
    assert not torch.equal(y[:, 0], y_moved[:, 0])


def test_headed_flow_state_round_trip_is_exact(headed_flow):
    tensors, record = headed_flow.state()
    assert record["config"]["affine_head"] is True
    back = ConditionalFlow.from_state(tensors, record)
    assert has_affine_head(back.network_)
    c = np.array([[0.2, -0.4, 0.0]])
    np.testing.assert_array_equal(headed_flow.sample(c, 40, seed=1), back.sample(c, 40, seed=1))


def test_a_saved_flow_without_the_setting_loads_without_a_head():
    """Models saved before the option existed have no ``affine_head`` in their record."""
    plain = ConditionalFlow(hidden_features=8, num_transforms=1, max_num_epochs=1, seed=0)
    rng = np.random.default_rng(1)
    plain.fit(rng.standard_normal((200, 2)), rng.standard_normal((200, 3)))
    tensors, record = plain.state()
    del record["config"]["affine_head"]
    back = ConditionalFlow.from_state(tensors, record)
    assert not has_affine_head(back.network_) and back.affine_head is False


def test_head_is_refused_for_a_mixture_density_network():
    flow = ConditionalFlow(model="mdn", affine_head=True)
    with pytest.raises(ValueError, match="model='nsf' only"):
        flow.fit(np.zeros((10, 1)), np.arange(10.0)[:, None])


def test_train_command_names_the_switch_only_when_on():
    from technorhythm.inference.population_data import PopulationPlan

    plan = PopulationPlan(n_sets=10, seed=0, n_range=(1, 8), loops_per_set=1)
    on = population_command(plan, {"affine_head": True, "passes": 2}, {})
    off = population_command(plan, {"affine_head": False, "passes": 2}, {})
    assert "--passes 2 --affine-head" in on
    assert "--affine-head" not in off and "--passes 2" in off
