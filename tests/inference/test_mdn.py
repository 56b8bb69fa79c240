"""The loop network's sampler: the same draws as sbi's own, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from technorhythm.inference.flows import ConditionalFlow
from technorhythm.inference.mdn import mdn_sampler

pytestmark = pytest.mark.filterwarnings("ignore:Maximum number of epochs")


def _mdn(t_dim: int, *, embedding=()) -> ConditionalFlow:
    rng = np.random.default_rng(t_dim)
    c = rng.normal(size=(600, 4))
    t = c[:, :1] * np.linspace(0.5, 1.5, t_dim) + 0.3 * rng.normal(size=(600, t_dim))
    flow = ConditionalFlow(
        model="mdn",
        hidden_features=8,
        num_transforms=3,
        embedding_features=embedding,
        max_num_epochs=3,
        seed=2,
    )
    return flow.fit(t, c)


@pytest.mark.parametrize(("t_dim", "embedding"), [(3, ()), (1, ()), (5, (6,))])
@pytest.mark.parametrize("n", [1, 4])
def test_draws_equal_sbi_bit_for_bit(t_dim, embedding, n):
    flow = _mdn(t_dim, embedding=embedding)
    net = flow.network_
    sample = mdn_sampler(net)
    assert sample is not None, "the installed sbi's MDN is not recognised"
    cond = torch.as_tensor(np.random.default_rng(9).normal(size=(37, 4)), dtype=torch.float32)
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(123)
        ours = sample(cond, n)
        torch.manual_seed(123)
        theirs = net.sample((n,), condition=cond)
    assert ours.shape == theirs.shape == (n, 37, t_dim)
    assert torch.equal(ours, theirs)


def test_flow_sample_uses_it_and_stays_reproducible():
    flow = _mdn(3)
    c = np.random.default_rng(1).normal(size=(50, 4))
    a = flow.sample(c, 2, seed=7, chunk=20)
    b = flow.sample(c, 2, seed=7, chunk=20)
    np.testing.assert_array_equal(a, b)
    # the same chunks through sbi's own sample give the same numbers
    net = flow.network_
    cond = torch.as_tensor(c, dtype=torch.float32)
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        ref = torch.cat([net.sample((2,), condition=cond[s : s + 10]) for s in range(0, 50, 10)], 1)
    np.testing.assert_array_equal(a, ref.numpy().astype(np.float64))


def test_unrecognised_networks_fall_back_to_sbi():
    assert mdn_sampler(torch.nn.Linear(2, 2)) is None
    flow = ConditionalFlow(hidden_features=8, num_transforms=1, max_num_epochs=2, seed=0)
    rng = np.random.default_rng(0)
    flow.fit(rng.normal(size=(300, 2)), rng.normal(size=(300, 3)))
    assert mdn_sampler(flow.network_) is None  # a spline flow


def test_non_finite_draws_are_refused():
    flow = _mdn(2)
    net = flow.network_
    sample = mdn_sampler(net)
    with torch.no_grad():
        net.net._means_layer.bias.fill_(float("inf"))
        with pytest.raises(ValueError, match="non-finite"):
            sample(torch.zeros(3, 4), 1)


@pytest.mark.parametrize(("t_dim", "first"), [(8, 2), (8, 7), (5, 4)])
def test_trailing_dimensions_alone_equal_the_full_draws(t_dim, first):
    flow = _mdn(t_dim)
    net = flow.network_
    full, trailing = mdn_sampler(net), mdn_sampler(net, first)
    cond = torch.as_tensor(np.random.default_rng(4).normal(size=(41, 4)), dtype=torch.float32)
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        a, after_a = full(cond, 3), torch.rand(4)
        torch.manual_seed(5)
        b, after_b = trailing(cond, 3), torch.rand(4)
    assert b.shape == a.shape == (3, 41, t_dim)
    assert torch.isnan(b[..., :first]).all()
    np.testing.assert_allclose(b[..., first:].numpy(), a[..., first:].numpy(), atol=1e-5)
    assert not torch.equal(b[..., first:], torch.zeros_like(b[..., first:]))
    # the same random calls: the generator is left where the full draws leave it
    assert torch.equal(after_a, after_b)


def test_most_dimensions_wanted_draws_them_all():
    flow = _mdn(5)
    net = flow.network_
    cond = torch.zeros(6, 4)
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        a = mdn_sampler(net)(cond, 2)
        torch.manual_seed(1)
        b = mdn_sampler(net, 1)(cond, 2)  # 4 of 5 wanted: the full draws
    assert torch.equal(a, b)
    for bad in (-1, 5, True):
        with pytest.raises(ValueError, match="first must be"):
            mdn_sampler(net, bad)


def test_flow_sample_passes_first_on():
    flow = _mdn(8)
    c = np.random.default_rng(2).normal(size=(30, 4))
    a = flow.sample(c, 2, seed=3, chunk=20)
    b = flow.sample(c, 2, seed=3, chunk=20, first=6)
    assert np.isnan(b[..., :6]).all()
    np.testing.assert_allclose(b[..., 6:], a[..., 6:], atol=1e-5)
