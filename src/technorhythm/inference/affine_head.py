"""A conditional location-scale transform in front of a zuko spline flow.

A neural spline flow on z-scored targets shapes its density with splines on a fixed domain
(±5) and a handful of bins, so a posterior much narrower than the prior has to be made of
steep, narrow bins placed where the condition says. :func:`add_affine_head` puts one
elementwise affine transform, t' = t · a(c) + b(c), between sbi's z-scoring and the splines;
a and b are computed from the embedded condition alone (zuko's masked autoregressive
transform with a single pass: no target dimension conditions another). It can centre and
scale each target to the posterior's own location and width, and the splines then shape a
standardised residual. zuko's monotonic affine transform keeps the scale within
[10⁻³, 10³].
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from zuko.flows.autoregressive import MaskedAutoregressiveTransform
from zuko.flows.core import UnconditionalTransform
from zuko.transforms import MonotonicAffineTransform

__all__ = ["add_affine_head", "has_affine_head", "with_affine_head"]


def _is_head(module: torch.nn.Module) -> bool:
    return (
        isinstance(module, MaskedAutoregressiveTransform)
        and module.passes == 1
        and module.univariate is MonotonicAffineTransform
    )


def has_affine_head(net: torch.nn.Module) -> bool:
    """Whether ``net`` (an sbi ``ZukoFlow``) has the conditional affine transform."""
    return any(_is_head(m) for m in net.net.transform.transforms)


def add_affine_head(
    net: torch.nn.Module, features: int, context: int, hidden_features: int
) -> torch.nn.Module:
    """Insert the affine transform into ``net`` (an sbi ``ZukoFlow``), in place.

    It goes after the leading unconditional transforms (sbi's z-scoring of the targets) and
    before the first conditional one. ``features``: target dimensions; ``context``: width
    of the embedded condition; ``hidden_features``: width of its two hidden layers.
    """
    transforms = net.net.transform.transforms
    if has_affine_head(net):
        raise ValueError("this flow already has an affine head")
    at = 0
    while at < len(transforms) and isinstance(transforms[at], UnconditionalTransform):
        at += 1
    head = MaskedAutoregressiveTransform(
        features=int(features),
        context=int(context),
        passes=1,
        hidden_features=[int(hidden_features)] * 2,
    )
    transforms.insert(at, head)
    return net


def with_affine_head(
    build: Callable[..., torch.nn.Module], hidden_features: int
) -> Callable[..., torch.nn.Module]:
    """An sbi build function like ``build`` (called as ``build(batch_theta, batch_x)``)
    whose flows have :func:`add_affine_head`."""

    def build_with_head(batch_theta: torch.Tensor, batch_x: torch.Tensor, **kwargs: Any):
        net = build(batch_theta, batch_x, **kwargs)
        with torch.no_grad():
            context = net._embedding_net(batch_x[:2]).shape[-1]
        return add_affine_head(net, batch_theta.shape[-1], context, hidden_features)

    return build_with_head
