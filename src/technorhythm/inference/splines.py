"""zuko's rational-quadratic spline transform with a faster bin normalisation on CPU.

A neural spline flow spends most of its time building its splines: every coupling
transform normalises the unconstrained bin widths and heights of every target dimension
with a softmax over the K bins (the last axis, K = 8 here). torch's CPU softmax over a
short last axis is slow; the same softmax over the *leading* axis of the same numbers,
moved there, is several times faster forward and backward
(``benchmarks/bench_training.py`` measures both in one run). :class:`LeadingSoftmaxRQS` is
zuko's :class:`~zuko.transforms.MonotonicRQSTransform` with only that changed: the same
parameters, the same spline, the same values up to float rounding (a test compares them).

:func:`with_fast_splines` wraps an sbi build function so that the flows it builds use it.
The swap touches no parameter, so a state dict saved with either transform loads into both.
It is made only when the installed zuko's transform gives the same spline as this one
(:func:`agrees_with_zuko`, checked once per process), so a zuko release that changes its
spline keeps its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache, partial
from typing import Any

import torch
import torch.nn.functional as F
from torch.distributions import Transform
from zuko.flows.autoregressive import MaskedAutoregressiveTransform
from zuko.transforms import MonotonicRQSTransform

__all__ = ["LeadingSoftmaxRQS", "agrees_with_zuko", "use_fast_splines", "with_fast_splines"]


def _softmax_last(x: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis, computed over the leading axis of a moved copy."""
    return torch.softmax(x.movedim(-1, 0).contiguous(), dim=0).movedim(0, -1)


class LeadingSoftmaxRQS(MonotonicRQSTransform):
    """zuko's monotonic rational-quadratic spline; bins normalised by :func:`_softmax_last`.

    Parameters are those of :class:`zuko.transforms.MonotonicRQSTransform`: unconstrained
    ``widths`` and ``heights`` (*, K), ``derivatives`` (*, K - 1), the domain ``bound`` and
    the minimum ``slope``.
    """

    def __init__(
        self,
        widths: torch.Tensor,
        heights: torch.Tensor,
        derivatives: torch.Tensor,
        bound: float = 5.0,
        slope: float = 1e-3,
        **kwargs: Any,
    ) -> None:
        Transform.__init__(self, **kwargs)
        # zuko 1.6's MonotonicRQSTransform.__init__, line for line, but the softmax
        widths = widths / (1 + abs(2 * widths / math.log(slope)))
        heights = heights / (1 + abs(2 * heights / math.log(slope)))
        derivatives = derivatives / (1 + abs(derivatives / math.log(slope)))

        widths = F.pad(_softmax_last(widths), (1, 0), value=0)
        heights = F.pad(_softmax_last(heights), (1, 0), value=0)
        derivatives = F.pad(derivatives, (1, 1), value=0)

        self.horizontal = bound * (2 * torch.cumsum(widths, dim=-1) - 1)
        self.vertical = bound * (2 * torch.cumsum(heights, dim=-1) - 1)
        self.derivatives = torch.exp(derivatives)


@cache
def agrees_with_zuko() -> bool:
    """Whether :class:`LeadingSoftmaxRQS` and the installed zuko's spline agree.

    Compares the forward map, its log-determinant and the inverse on random parameters,
    inside and outside the spline's domain, in float64: in float32 the inverse of a steep
    bin amplifies rounding that depends on the CPU's kernels, while a changed spline
    differs by far more than the 1e-8 allowed here.
    """
    gen = torch.Generator().manual_seed(0)
    widths, heights = (
        torch.randn(64, 3, 8, generator=gen, dtype=torch.float64) * 2 for _ in range(2)
    )
    derivatives = torch.randn(64, 3, 7, generator=gen, dtype=torch.float64)
    x = torch.randn(64, 3, generator=gen, dtype=torch.float64) * 4
    ours = LeadingSoftmaxRQS(widths, heights, derivatives)
    theirs = MonotonicRQSTransform(widths, heights, derivatives)
    y_ours, ladj_ours = ours.call_and_ladj(x)
    y_theirs, ladj_theirs = theirs.call_and_ladj(x)
    return bool(
        torch.allclose(y_ours, y_theirs, atol=1e-8)
        and torch.allclose(ladj_ours, ladj_theirs, atol=1e-8)
        and torch.allclose(ours.inv(y_theirs), theirs.inv(y_theirs), atol=1e-8)
    )


def use_fast_splines(net: torch.nn.Module) -> int:
    """Make every spline transform of ``net`` a :class:`LeadingSoftmaxRQS`, in place.

    Returns the number of autoregressive (or coupling) transforms that now use it;
    transforms of other kinds (affine, a mixture density network) are left alone, and so is
    every transform when the installed zuko's spline differs (:func:`agrees_with_zuko`).
    """
    if not agrees_with_zuko():
        return 0
    changed = 0
    for module in net.modules():
        if not isinstance(module, MaskedAutoregressiveTransform):
            continue
        univariate = module.univariate
        base = univariate.func if isinstance(univariate, partial) else univariate
        if base is MonotonicRQSTransform:
            keywords = univariate.keywords if isinstance(univariate, partial) else {}
            module.univariate = partial(LeadingSoftmaxRQS, **keywords)
            changed += 1
        elif base is LeadingSoftmaxRQS:
            changed += 1
    return changed


def with_fast_splines(build: Callable[..., torch.nn.Module]) -> Callable[..., torch.nn.Module]:
    """An sbi build function like ``build`` whose networks use :func:`use_fast_splines`."""

    def build_fast(*args: Any, **kwargs: Any) -> torch.nn.Module:
        net = build(*args, **kwargs)
        use_fast_splines(net)
        return net

    return build_fast
