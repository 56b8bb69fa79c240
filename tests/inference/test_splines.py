"""The faster spline transform: zuko's spline, value for value, in every flow we build."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch
import zuko
from zuko.flows.autoregressive import MaskedAutoregressiveTransform
from zuko.transforms import MonotonicRQSTransform

from technorhythm.inference.flows import ConditionalFlow
from technorhythm.inference.splines import (
    LeadingSoftmaxRQS,
    agrees_with_zuko,
    use_fast_splines,
    with_fast_splines,
)

pytestmark = pytest.mark.filterwarnings("ignore:Maximum number of epochs")


def _params(seed, shape=(32, 5), bins=8, scale=3.0):
    gen = torch.Generator().manual_seed(seed)
    widths = torch.randn(*shape, bins, generator=gen) * scale
    heights = torch.randn(*shape, bins, generator=gen) * scale
    derivatives = torch.randn(*shape, bins - 1, generator=gen) * scale
    return widths, heights, derivatives


def _both_splines(seed, dtype, tol, grad_tol):
    """Ours and zuko's spline on the same parameters of seed ``seed`` in ``dtype``, with
    their outputs on x in [−7, 7] (inside and outside the ±5 domain), after asserting that
    values and log-determinants agree to ``tol`` and the gradients training follows to
    ``grad_tol``."""
    widths, heights, derivatives = (p.to(dtype).requires_grad_() for p in _params(seed))
    x = torch.linspace(-7.0, 7.0, 32 * 5, dtype=dtype).reshape(32, 5)
    ours = LeadingSoftmaxRQS(widths, heights, derivatives)
    theirs = MonotonicRQSTransform(widths, heights, derivatives)
    y_ours, ladj_ours = ours.call_and_ladj(x)
    y_theirs, ladj_theirs = theirs.call_and_ladj(x)
    torch.testing.assert_close(y_ours, y_theirs, **tol)
    torch.testing.assert_close(ladj_ours, ladj_theirs, **tol)
    params = (widths, heights, derivatives)
    grads_ours = torch.autograd.grad((y_ours + ladj_ours).sum(), params, retain_graph=True)
    grads_theirs = torch.autograd.grad((y_theirs + ladj_theirs).sum(), params, retain_graph=True)
    for a, b in zip(grads_ours, grads_theirs, strict=True):
        torch.testing.assert_close(a, b, **grad_tol)
    return ours, theirs, y_ours.detach(), y_theirs.detach()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_spline_as_zuko_in_float64(seed):
    """Without float32 rounding the two transforms are the same map, inverse and gradients.

    In float32 the knots of the two differ by ~2e-6 (a softmax summed in another order);
    where a bin's slope is 3e-4 to 7e-4 the inverse amplifies that to 0.002-0.01 in x, by
    an amount that depends on the CPU's kernels. Float64 shows the maps themselves agree.
    """
    tight = {"atol": 1e-10, "rtol": 1e-10}
    ours, theirs, _, y = _both_splines(seed, torch.float64, tight, tight)
    with torch.no_grad():
        torch.testing.assert_close(ours.inv(y), theirs.inv(y), atol=1e-9, rtol=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_spline_as_zuko_in_float32(seed):
    """In float32, as flows run: values, log-determinants and gradients agree to rounding
    (of a different summation order, on values up to ±7), and our inverse is as exact an
    inverse as zuko's (the round trip, measured in y)."""
    ours, theirs, y_ours, y_theirs = _both_splines(
        seed, torch.float32, {"atol": 1e-4, "rtol": 1e-5}, {"atol": 1e-4, "rtol": 1e-4}
    )
    with torch.no_grad():
        # measured on an AMD EPYC: ours 1.4e-6 to 3.8e-6, zuko's 1.2e-6 to 3.3e-6
        torch.testing.assert_close(ours(ours.inv(y_ours)), y_ours, atol=2e-5, rtol=0)
        torch.testing.assert_close(theirs(theirs.inv(y_theirs)), y_theirs, atol=2e-5, rtol=0)


def test_installed_zuko_agrees():
    assert agrees_with_zuko()


@pytest.mark.parametrize("passes", [None, 2])
def test_swap_changes_every_spline_and_no_density(passes):
    torch.manual_seed(0)
    extra = {} if passes is None else {"passes": passes}
    flow = zuko.flows.NSF(6, context=3, transforms=3, hidden_features=[16], **extra)
    theta, context = torch.randn(50, 6), torch.randn(50, 3)
    before = flow(context).log_prob(theta)
    state = {k: v.clone() for k, v in flow.state_dict().items()}
    assert use_fast_splines(flow) == 3
    splines = [m for m in flow.modules() if isinstance(m, MaskedAutoregressiveTransform)]
    assert all(m.univariate.func is LeadingSoftmaxRQS for m in splines)
    assert all(m.univariate.keywords == {"slope": 1e-3} for m in splines)  # zuko's own keywords
    torch.testing.assert_close(flow(context).log_prob(theta), before, atol=1e-4, rtol=1e-5)
    # no parameter changed or appeared: a saved state loads either way
    assert flow.state_dict().keys() == state.keys()
    assert all(torch.equal(flow.state_dict()[k], v) for k, v in state.items())
    assert use_fast_splines(flow) == 3  # idempotent


def test_a_zuko_whose_spline_differs_keeps_its_own(monkeypatch):
    import technorhythm.inference.splines as splines

    monkeypatch.setattr(splines, "agrees_with_zuko", lambda: False)
    flow = zuko.flows.NSF(4, context=2, transforms=2, hidden_features=[8])
    assert use_fast_splines(flow) == 0
    assert all(
        m.univariate.func is MonotonicRQSTransform
        for m in flow.modules()
        if isinstance(m, MaskedAutoregressiveTransform)
    )


def test_other_transforms_left_alone():
    flow = zuko.flows.MAF(4, context=2, transforms=2, hidden_features=[8])
    assert use_fast_splines(flow) == 0
    wrapped = with_fast_splines(lambda: zuko.flows.MAF(4, context=2, transforms=2))
    net = wrapped()
    assert all(
        not isinstance(m.univariate, partial)
        for m in net.modules()
        if isinstance(m, MaskedAutoregressiveTransform)
    )


def test_conditional_flow_trains_and_reloads_with_the_fast_spline(rng):
    c = rng.normal(size=(600, 3))
    t = c[:, :2] + 0.3 * rng.normal(size=(600, 2))
    flow = ConditionalFlow(hidden_features=16, num_transforms=2, passes=2, max_num_epochs=3)
    flow.fit(t, c)

    def univariates(net):
        return [
            m.univariate.func for m in net.modules() if isinstance(m, MaskedAutoregressiveTransform)
        ]

    assert univariates(flow.network_) == [LeadingSoftmaxRQS] * 2
    tensors, record = flow.state()
    again = ConditionalFlow.from_state(tensors, record)
    assert univariates(again.network_) == [LeadingSoftmaxRQS] * 2
    np.testing.assert_allclose(
        again.log_prob(t[:20, None, :], c[:20]), flow.log_prob(t[:20, None, :], c[:20])
    )
    # the same weights under zuko's own spline give the same density
    for m in again.network_.modules():
        if isinstance(m, MaskedAutoregressiveTransform):
            m.univariate = partial(MonotonicRQSTransform, **m.univariate.keywords)
    np.testing.assert_allclose(
        again.log_prob(t[:20, None, :], c[:20]),
        flow.log_prob(t[:20, None, :], c[:20]),
        atol=1e-4,
    )
