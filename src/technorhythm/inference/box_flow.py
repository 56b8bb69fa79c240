"""q(θ | x) for θ in a box: :class:`BoxLogit` followed by a z-scored :class:`ConditionalFlow`.

This is the flow the population model uses for its pack network, offered for any bounded
parameter vector (the kick sub-model's reference comparison uses it). θ is mapped to
``t = logit((θ − low) / (high − low))`` and sbi z-scores t before the spline flow, so
the spline domain covers ±5 standard deviations of t and draws reach within about 10⁻⁴
of the range from a bound (see :mod:`technorhythm.inference.flows`). sbi's own
``z_score_theta="transform_to_unconstrained"`` (used by the one-θ
:class:`~technorhythm.inference.PosteriorEstimator`) applies the logit without the
z-scoring, so its spline domain ends at sigmoid(±5), 0.0067 of the range from a bound.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from technorhythm.inference.flows import BoxLogit, ConditionalFlow

__all__ = ["BoxFlow", "truncated_box"]

_RECORD = "box_flow.json"
_TENSORS = "box_flow.pt"


class BoxFlow:
    """Amortised posterior q(θ | x) over a box of parameters.

    Parameters
    ----------
    bounds : array (K, 2)
        The prior box (low, high per parameter); θ outside it is rejected by :meth:`fit`.
    **flow_params
        :class:`ConditionalFlow` settings (``hidden_features``, ``num_transforms``,
        ``training_batch_size``, ``seed``, ...).
    """

    def __init__(self, bounds: np.ndarray, **flow_params: Any) -> None:
        self.bounds = bounds
        self.flow_params = flow_params

    def _box(self) -> BoxLogit:
        return BoxLogit(np.asarray(self.bounds, dtype=np.float64))

    def fit(self, theta: np.ndarray, x: np.ndarray) -> BoxFlow:
        """Train on θ (M, K) inside the box and observations x (M, D)."""
        box = np.asarray(self.bounds, dtype=np.float64)
        theta = np.asarray(theta, dtype=np.float64)
        if theta.ndim != 2 or theta.shape[1] != len(box):
            raise ValueError(f"theta must have shape (M, {len(box)}); got {theta.shape}")
        if np.any(theta < box[:, 0]) or np.any(theta > box[:, 1]):
            raise ValueError("theta has values outside the bounds")
        self.flow_ = ConditionalFlow(**self.flow_params).fit(self._box().forward(theta), x)
        return self

    def _flow(self) -> ConditionalFlow:
        flow = getattr(self, "flow_", None)
        if flow is None:
            from technorhythm.inference.estimator import NotFittedError

            raise NotFittedError("this BoxFlow is not trained; call fit() or load one")
        return flow

    @property
    def history_(self) -> dict[str, Any]:
        """The flow's training history (losses in t space, per epoch)."""
        return self._flow().history_

    def sample(self, x_obs: np.ndarray, n: int, *, seed: int | np.random.Generator) -> np.ndarray:
        """``n`` draws of θ (n, K) for one observation x (D,), inside the box."""
        x_obs = np.asarray(x_obs, dtype=np.float64)
        if x_obs.ndim != 1:
            raise ValueError(f"x_obs must be one observation (D,); got shape {x_obs.shape}")
        t = self._flow().sample(x_obs[None], n, seed=seed)[:, 0]
        return self._box().inverse(t)

    def save(self, directory: str | Path) -> Path:
        """Write the trained flow (tensors + JSON record) to ``directory`` (atomic writes)."""
        import torch

        from technorhythm.atomic import atomic_path, atomic_write_text

        tensors, record = self._flow().state()
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / _TENSORS) as tmp:
            torch.save(tensors, tmp)
        record = {"bounds": np.asarray(self.bounds, dtype=float).tolist(), "flow": record}
        atomic_write_text(folder / _RECORD, json.dumps(record, indent=1) + "\n")
        return folder

    @classmethod
    def load(cls, directory: str | Path) -> BoxFlow:
        """Read a flow written by :meth:`save` (tensors only: loading never runs code)."""
        from technorhythm.inference.persistence import load_tensors

        folder = Path(directory)
        record = json.loads((folder / _RECORD).read_text())
        out = cls(np.asarray(record["bounds"]), **record["flow"]["config"])
        out.flow_ = ConditionalFlow.from_state(load_tensors(folder / _TENSORS), record["flow"])
        return out


def truncated_box(
    draws: np.ndarray, bounds: np.ndarray, *, quantile: float = 1e-3, margin: float = 0.5
) -> np.ndarray:
    """A smaller prior box for a truncated round (swyft's box truncation, sbi's TSNPE).

    Per parameter, from the ``quantile`` to the ``1 − quantile`` quantile of posterior
    ``draws`` (n, K), widened by ``margin`` of that width on each side and clipped to
    ``bounds`` (K, 2). Quantiles rather than min/max: a flow's far tails would keep nearly
    the whole prior. A uniform prior truncated to a box that holds the posterior leaves
    the posterior unchanged, so a flow trained on θ uniform in this box estimates the same
    posterior at a finer scale.
    """
    draws = np.asarray(draws, dtype=np.float64)
    bounds = np.asarray(bounds, dtype=np.float64)
    if draws.ndim != 2 or draws.shape[1] != len(bounds) or not len(draws):
        raise ValueError(f"draws must have shape (n, {len(bounds)}); got {draws.shape}")
    if not 0.0 <= quantile < 0.5 or margin < 0.0:
        raise ValueError(f"need 0 <= quantile < 0.5 and margin >= 0; got {quantile}, {margin}")
    low, high = np.quantile(draws, [quantile, 1.0 - quantile], axis=0)
    pad = margin * (high - low)
    box = np.column_stack(
        [np.maximum(low - pad, bounds[:, 0]), np.minimum(high + pad, bounds[:, 1])]
    )
    if np.any(box[:, 1] <= box[:, 0]):
        raise ValueError(f"the draws give a degenerate box {box.tolist()}")
    return box
