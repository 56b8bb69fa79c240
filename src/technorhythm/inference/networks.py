"""The density-estimator architecture: sbi's builders plus a fixed column-selection embedding.

Both training and :func:`technorhythm.inference.persistence.load_estimator` build the
network through :func:`density_estimator_builder`, so a loaded model has exactly the
architecture it was trained with; its weights, z-scoring statistics and column mask come
from the state_dict, and the logit transform is rebuilt from the prior bounds (sbi keeps
transform tensors out of the state_dict on purpose).
"""

from __future__ import annotations

import numpy as np

__all__ = ["column_selection", "density_estimator_builder"]


def column_selection(keep: np.ndarray):
    """A fixed (non-trainable) embedding net passing only the x columns where ``keep``.

    Columns that were constant over the training simulations carry no information about θ;
    sbi's z-scoring (which runs *before* the embedding net) divides them by a floor of 1e-14,
    so any other observed value would reach the flow as ~1e13. Selecting the informative
    columns after z-scoring removes them safely, and the posterior still takes the full x.
    """
    import torch
    from torch import nn

    class SelectColumns(nn.Module):
        """x (B, D) → x[:, keep] (B, D'); ``keep`` is a buffer, so it is in the state_dict."""

        def __init__(self, keep_mask: np.ndarray) -> None:
            super().__init__()
            self.register_buffer("keep", torch.as_tensor(np.asarray(keep_mask, dtype=bool)))
            # sbi locates an embedding net's device through its first parameter.
            self.device_anchor = nn.Parameter(torch.zeros(0), requires_grad=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x[..., self.keep]

    return SelectColumns(keep)


def density_estimator_builder(
    estimator: str,
    *,
    hidden_features: int,
    num_transforms: int,
    num_bins: int,
    unconstrained: bool,
    prior,
    x_keep: np.ndarray,
):
    """sbi ``posterior_nn`` build function for NPE.

    Parameters
    ----------
    estimator : {"nsf", "maf"}
        Flow family. With ``unconstrained`` the zuko implementations are used
        (``zuko_nsf``: fully autoregressive rational-quadratic splines; ``zuko_maf``), with
        θ mapped to logit space by sbi's ``z_score_theta="transform_to_unconstrained"``;
        otherwise sbi's nflows ``nsf``/``maf`` on z-scored θ.
    hidden_features, num_transforms, num_bins : int
        Flow size (``num_bins`` for splines only).
    prior : torch Distribution
        The box prior; its support defines the logit transform.
    x_keep : ndarray (D,) of bool
        x columns the flow is conditioned on (:func:`column_selection`).
    """
    from sbi.neural_nets import posterior_nn

    common = dict(
        z_score_x="independent",
        hidden_features=hidden_features,
        num_transforms=num_transforms,
        num_bins=num_bins,
        embedding_net=column_selection(x_keep),
    )
    if unconstrained:
        from technorhythm.inference.splines import with_fast_splines

        return with_fast_splines(
            posterior_nn(
                f"zuko_{estimator}",
                z_score_theta="transform_to_unconstrained",
                x_dist=prior,
                **common,
            )
        )
    return posterior_nn(estimator, z_score_theta="independent", **common)
