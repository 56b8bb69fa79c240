"""Drawing from sbi's mixture density network without the work sampling does not need.

The loop network is sbi's ``MixtureDensityEstimator`` (a Gaussian mixture whose precision
matrices are A^T A with A upper triangular). sbi's ``sample`` builds the full mixture
object first: it multiplies out every component's K × K precision matrix and checks every
entry of it for NaN and Inf, for every condition row. Sampling needs neither: it draws a
component, then solves A x = ε. A fit draws once for each of about two million (ψ draw,
loop) pairs, so that overhead was most of the per-loop stage (about 70 % of its time).

:func:`mdn_sampler` returns a sampler that runs the same network layers and the same
random calls in the same order (``multinomial``, then ``randn``) on the same tensors, so
its draws equal sbi's bit for bit (a test checks this against the installed sbi). For a
network it does not recognise (another sbi version's internals) it returns ``None`` and
the caller uses sbi's own ``sample``.

A caller that needs only the trailing dimensions ``first, …, d − 1`` (``fit``, whose hit
blocks draw every knob but the last) asks for them alone: A is upper triangular, so the
trailing entries of x = A⁻¹ε depend only on A's trailing block and ε's trailing entries,
and each component's trailing block takes a slice of the network's output layers. The
random calls stay the same (the whole ``randn`` tensor is drawn), so those dimensions equal
the full draws' to float32 rounding (the smaller products may round differently); the
leading dimensions come back NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["mdn_sampler"]

_PARTS = (
    "_hidden_net",
    "_logits_layer",
    "_means_layer",
    "_unconstrained_diagonal_layer",
    "_upper_layer",
    "_row_ix",
    "_column_ix",
    "_features",
    "_num_components",
)


def _recognised(net: Any) -> bool:
    try:
        from sbi.neural_nets.estimators.mixture_density_estimator import (
            MixtureDensityEstimator,
            MultivariateGaussianMDN,
        )
    except ImportError:  # another sbi layout
        return False
    return (
        type(net) is MixtureDensityEstimator
        and type(getattr(net, "net", None)) is MultivariateGaussianMDN
        and all(hasattr(net.net, p) for p in _PARTS)
        and hasattr(net, "_embedding_net")
        and hasattr(net, "_inverse_transform_input")
    )


def mdn_sampler(net: Any, first: int = 0) -> Callable[[Any, int], Any] | None:
    """``sample(condition, n) → (n, B, dim)`` for sbi's MDN ``net``; None if not recognised.

    Call it under ``torch.no_grad()`` with the random state seeded as for sbi's
    ``net.sample((n,), condition=condition)``; it returns the same tensor. ``first`` > 0
    draws only the dimensions ``first, …, dim − 1`` (the others NaN; see the module
    docstring) when they are at most three quarters of them and the network has no prior
    transform (which may mix dimensions); otherwise it draws all.
    Raises ``ValueError`` when a draw is not finite (sbi checks the mixture's parameters
    instead).
    """
    if not _recognised(net):
        return None
    mdn = net.net
    k, d = int(mdn._num_components), int(mdn._features)
    if isinstance(first, bool) or not 0 <= int(first) < d:
        raise ValueError(f"first must be an integer in [0, {d - 1}]; got {first!r}")
    if 4 * (d - int(first)) > 3 * d or getattr(net, "_prior_transform", None) is not None:
        # most dimensions wanted: the slices cost more than they save (a 27-dimension
        # network wanting 26: 1.3× the full draws' time); a prior transform may mix them
        first = 0
    return _sampler(net, k, d, int(first))


def _rows_of(layer: Any, rows: Any) -> tuple[Any, Any]:
    """The weight and bias of ``layer``'s output units ``rows``."""
    bias = None if layer.bias is None else layer.bias.detach()[rows]
    return layer.weight.detach()[rows], bias


def _heads(mdn: Any, k: int, d: int, first: int) -> tuple[Callable[[Any], tuple], Any]:
    """``(heads, flat_index)``: ``heads(h)`` gives the means, the unconstrained diagonal and
    the strictly upper entries (or None) of each component's factor block from dimension
    ``first`` on; ``flat_index`` places the diagonal, then the upper entries, in the
    flattened block. ``first`` 0: the network's own layers (sbi's draws, bit for bit)."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    t = d - first
    rows_ix, cols_ix = np.asarray(mdn._row_ix), np.asarray(mdn._column_ix)
    keep = np.flatnonzero(rows_ix >= first)  # upper entries inside the trailing block
    upper = mdn._upper_layer is not None and len(keep) > 0
    where = [np.arange(t) * (t + 1)]
    if upper:
        where.append((rows_ix[keep] - first) * t + (cols_ix[keep] - first))
    flat_index = torch.as_tensor(np.concatenate(where), dtype=torch.long)
    if first == 0:

        def heads(h):
            up = mdn._upper_layer(h) if upper else None
            return mdn._means_layer(h), mdn._unconstrained_diagonal_layer(h), up

        return heads, flat_index
    # the output units of each component's trailing means and diagonal (component-major)
    per_dim = torch.as_tensor((np.arange(k)[:, None] * d + np.arange(first, d)).ravel())
    means_w = _rows_of(mdn._means_layer, per_dim)
    diag_w = _rows_of(mdn._unconstrained_diagonal_layer, per_dim)
    upper_w = None
    if upper:
        units = torch.as_tensor((np.arange(k)[:, None] * len(rows_ix) + keep).ravel())
        upper_w = _rows_of(mdn._upper_layer, units)

    def sliced(h):
        up = F.linear(h, *upper_w) if upper_w is not None else None
        return F.linear(h, *means_w), F.linear(h, *diag_w), up

    return sliced, flat_index


def _sampler(net: Any, k: int, d: int, first: int) -> Callable[[Any, int], Any]:
    """The draws of dimensions ``first, …, d − 1`` (the others NaN when ``first`` > 0),
    with sbi's random calls whatever ``first``."""
    import torch
    import torch.nn.functional as F

    mdn = net.net
    t = d - first
    heads, flat_index = _heads(mdn, k, d, first)

    def sample(condition: torch.Tensor, n: int) -> torch.Tensor:
        b = condition.shape[0]
        h = mdn._hidden_net(net._embedding_net(condition))
        logits = mdn._logits_layer(h)
        means, diagonal, upper = heads(h)
        entries = [F.softplus(diagonal.view(b, k, t))]
        if upper is not None:
            entries.append(upper.view(b, k, -1))
        factors = torch.zeros(b, k, t * t, dtype=condition.dtype)
        factors[..., flat_index] = torch.cat(entries, -1)
        factors = factors.view(b, k, t, t)
        choice = torch.multinomial(F.softmax(logits, dim=-1), num_samples=n, replacement=True)
        row = torch.arange(b).unsqueeze(1).expand(b, n)
        noise = torch.randn(b, n, d, 1, dtype=condition.dtype)[:, :, first:]
        part = torch.linalg.solve_triangular(factors[row, choice], noise, upper=True)
        part = (means.view(b, k, t)[row, choice] + part.squeeze(-1)).transpose(0, 1)
        _check_finite(part)
        if first == 0:
            return net._inverse_transform_input(part)
        draws = torch.full((n, b, d), float("nan"), dtype=condition.dtype)
        draws[..., first:] = part
        return net._inverse_transform_input(draws)  # sbi's z-score, per dimension

    return sample


def _check_finite(draws: Any) -> None:
    import torch

    if not bool(torch.isfinite(draws).all()):
        raise ValueError("the mixture density network gave non-finite draws")
