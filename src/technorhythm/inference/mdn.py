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


def mdn_sampler(net: Any) -> Callable[[Any, int], Any] | None:
    """``sample(condition, n) → (n, B, dim)`` for sbi's MDN ``net``; None if not recognised.

    Call it under ``torch.no_grad()`` with the random state seeded as for sbi's
    ``net.sample((n,), condition=condition)``; it returns the same tensor. Raises
    ``ValueError`` when a draw is not finite (sbi checks the mixture's parameters instead).
    """
    if not _recognised(net):
        return None
    import numpy as np
    import torch
    import torch.nn.functional as F

    mdn = net.net
    k, d = int(mdn._num_components), int(mdn._features)
    # A's diagonal, then its strictly upper entries, as positions in a flattened d × d
    where = np.concatenate(
        [np.arange(d) * (d + 1), np.asarray(mdn._row_ix) * d + np.asarray(mdn._column_ix)]
    )
    flat_index = torch.as_tensor(where, dtype=torch.long)

    def sample(condition: torch.Tensor, n: int) -> torch.Tensor:
        b = condition.shape[0]
        h = mdn._hidden_net(net._embedding_net(condition))
        logits = mdn._logits_layer(h)
        means = mdn._means_layer(h).view(b, k, d)
        entries = [F.softplus(mdn._unconstrained_diagonal_layer(h).view(b, k, d))]
        if mdn._upper_layer is not None:
            entries.append(mdn._upper_layer(h).view(b, k, -1))
        factors = torch.zeros(b, k, d * d, dtype=condition.dtype)
        factors[..., flat_index[: sum(e.shape[-1] for e in entries)]] = torch.cat(entries, -1)
        factors = factors.view(b, k, d, d)
        choice = torch.multinomial(F.softmax(logits, dim=-1), num_samples=n, replacement=True)
        row = torch.arange(b).unsqueeze(1).expand(b, n)
        noise = torch.randn(b, n, d, 1, dtype=condition.dtype)
        draws = torch.linalg.solve_triangular(factors[row, choice], noise, upper=True)
        draws = (means[row, choice] + draws.squeeze(-1)).transpose(0, 1)
        if not bool(torch.isfinite(draws).all()):
            raise ValueError("the mixture density network gave non-finite draws")
        return net._inverse_transform_input(draws)

    return sample
