"""A thin scikit-learn-style wrapper around sbi's neural posterior estimation (NPE).

The chain is sbi's own: ``append_simulations → train → build_posterior``
(``sbi.inference.NPE``). What this wrapper adds is the contract the rest of
technorhythm relies on:

* ``__init__`` only stores the configuration; fitted state ends in ``_``;
* randomness comes from an explicit ``seed`` and never touches the caller's
  global torch state (every torch call runs inside ``torch.random.fork_rng``);
* θ goes in and comes out as numpy arrays in knob units, inside the prior box;
* persistence without pickle (:mod:`technorhythm.inference.persistence`).

Bounded knobs. With ``unconstrained=True`` (the default) the flow is trained on
``logit((θ - low) / (high - low))`` through sbi's own
``z_score_theta="transform_to_unconstrained"`` (zuko flows), so the posterior
puts no mass outside the box and needs no leakage correction; sbi does not z-score the
logit, so the zuko spline domain (±5) ends at sigmoid(±5), 0.0067 of the range from a
bound, and posteriors piled against a bound are cut off there
(:class:`technorhythm.inference.box_flow.BoxFlow` z-scores the logit and reaches them). With
``unconstrained=False`` the flow is trained on z-scored θ (nflows) and sbi
rejects samples that leak outside the prior and renormalises ``log_prob``.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from technorhythm.inference.prior import box_prior, check_bounds, knob_bounds
from technorhythm.simulator.knobs import KNOB_NAMES

__all__ = ["PosteriorEstimator", "NotFittedError", "ESTIMATORS"]

ESTIMATORS: tuple[str, ...] = ("nsf", "maf")
"""Density estimators offered: neural spline flow and masked autoregressive flow."""


class NotFittedError(ValueError):
    """The estimator was used before ``train()`` / ``build_posterior()``."""


class _NoTracker:
    """An sbi ``Tracker`` that records nothing.

    sbi's default tracker writes TensorBoard files into ``./sbi-logs`` of whatever the current
    directory is; the losses are kept in ``training_history_`` and the manifest instead.
    """

    log_dir = None

    def log_metric(self, name: str, value: float, step: int | None = None) -> None:
        """Ignore one metric."""

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Ignore metrics."""

    def log_params(self, params: dict[str, Any]) -> None:
        """Ignore parameters."""

    def add_figure(self, name: str, figure: Any, step: int | None = None) -> None:
        """Ignore a figure."""

    def flush(self) -> None:
        """Nothing to flush."""


def _no_stdout() -> contextlib.AbstractContextManager:
    """Swallow prints to stdout (sbi's "successfully converged" note)."""
    import io

    return contextlib.redirect_stdout(io.StringIO())


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads (None: leave as is); restore after."""
    import torch

    if n is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _seed_int(seed: int | np.random.Generator) -> int:
    """An explicit integer seed, drawn from ``seed`` when it is a numpy Generator."""
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(0, 2**63 - 1))
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative int or a numpy Generator; got {seed!r}")
    return int(seed)


class PosteriorEstimator:
    """Amortised posterior p(θ | x) over the knobs, learnt with sbi NPE.

    Parameters
    ----------
    estimator : {"nsf", "maf"}
        Density estimator: neural spline flow or masked autoregressive flow.
    hidden_features, num_transforms, num_bins : int
        Flow size: hidden units per layer, number of flow transforms, spline bins (NSF only).
    unconstrained : bool
        Train on logit-transformed θ (see module docstring). Default True.
    training_batch_size, learning_rate, validation_fraction, stop_after_epochs, \
max_num_epochs, clip_max_norm
        Passed to ``sbi.inference.NPE.train``. Training stops early once the loss on the
        held-out ``validation_fraction`` has not improved for ``stop_after_epochs`` epochs
        (sbi then restores the best epoch). Batch 512 at learning rate 1e-3 matched batch 256
        at 5e-4 in held-out log density on 10 000 simulated sets in about half the time.
    seed : int
        Seeds network initialisation, the validation split and minibatch order.
    bounds : array (K, 2), optional
        Prior box (knob units). Default: the knob registry's bounds.
    names : sequence of str, optional
        Parameter names, one per bounds row. Default: the registry's knob names.
    show_progress_bars : bool
        Show sbi's training progress.
    torch_threads : int or None
        torch intra-op threads while training and sampling (restored afterwards); None keeps
        torch's setting. The default, 1, is the fastest for these small networks on the 2-core
        development machine shared with other jobs: an NSF epoch on 1800 sets took 0.5–0.6 s
        with 1 thread, against 0.5–15 s (erratic, thread contention) with 2, at load 2–6.
    """

    def __init__(
        self,
        *,
        estimator: str = "nsf",
        hidden_features: int = 64,
        num_transforms: int = 5,
        num_bins: int = 8,
        unconstrained: bool = True,
        training_batch_size: int = 512,
        learning_rate: float = 1e-3,
        validation_fraction: float = 0.1,
        stop_after_epochs: int = 20,
        max_num_epochs: int = 1000,
        clip_max_norm: float | None = 5.0,
        seed: int = 0,
        bounds: Sequence[Sequence[float]] | np.ndarray | None = None,
        names: Sequence[str] | None = None,
        show_progress_bars: bool = False,
        torch_threads: int | None = 1,
    ) -> None:
        self.estimator = estimator
        self.hidden_features = hidden_features
        self.num_transforms = num_transforms
        self.num_bins = num_bins
        self.unconstrained = unconstrained
        self.training_batch_size = training_batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.stop_after_epochs = stop_after_epochs
        self.max_num_epochs = max_num_epochs
        self.clip_max_norm = clip_max_norm
        self.seed = seed
        self.bounds = bounds
        self.names = names
        self.show_progress_bars = show_progress_bars
        self.torch_threads = torch_threads

    # -- configuration -----------------------------------------------------------------
    _PARAM_NAMES: tuple[str, ...] = (
        "estimator",
        "hidden_features",
        "num_transforms",
        "num_bins",
        "unconstrained",
        "training_batch_size",
        "learning_rate",
        "validation_fraction",
        "stop_after_epochs",
        "max_num_epochs",
        "clip_max_norm",
        "seed",
        "bounds",
        "names",
        "show_progress_bars",
        "torch_threads",
    )

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments (JSON-friendly: bounds as nested lists)."""
        params = {name: getattr(self, name) for name in self._PARAM_NAMES}
        if params["bounds"] is not None:
            params["bounds"] = np.asarray(params["bounds"], dtype=float).tolist()
        if params["names"] is not None:
            params["names"] = list(params["names"])
        return params

    def _bounds(self) -> np.ndarray:
        return knob_bounds() if self.bounds is None else check_bounds(self.bounds)

    def _names(self) -> tuple[str, ...]:
        k = self._bounds().shape[0]
        if self.names is None:
            if self.bounds is None:
                return KNOB_NAMES
            return tuple(f"theta_{i}" for i in range(k))
        names = tuple(str(n) for n in self.names)
        if len(names) != k:
            raise ValueError(f"names has {len(names)} entries for {k} bounds rows")
        return names

    def _validate_config(self) -> None:
        if self.estimator not in ESTIMATORS:
            raise ValueError(
                f"estimator must be one of {', '.join(ESTIMATORS)}; got {self.estimator!r}"
            )
        for name in ("hidden_features", "num_transforms", "num_bins", "training_batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        if not 0.0 < float(self.validation_fraction) < 1.0:
            raise ValueError(
                f"validation_fraction must be in (0, 1); got {self.validation_fraction!r}"
            )
        if not float(self.learning_rate) > 0:
            raise ValueError(f"learning_rate must be positive; got {self.learning_rate!r}")
        _seed_int(self.seed)
        threads = self.torch_threads
        if threads is not None and (
            isinstance(threads, bool) or not isinstance(threads, int | np.integer) or threads < 1
        ):
            raise ValueError(f"torch_threads must be a positive integer or None; got {threads!r}")
        self._names()

    @property
    def theta_names(self) -> tuple[str, ...]:
        """Names of the θ columns (knob names by default)."""
        return self._names()

    @property
    def theta_bounds(self) -> np.ndarray:
        """Prior box, shape (K, 2), knob units."""
        return self._bounds()

    def prior(self):
        """The sbi-compatible uniform prior over :attr:`theta_bounds`."""
        return box_prior(self._bounds())

    def _builder(self, x_keep: np.ndarray):
        """sbi's density-estimator builder for this configuration (see :mod:`.networks`)."""
        from technorhythm.inference.networks import density_estimator_builder

        return density_estimator_builder(
            self.estimator,
            hidden_features=int(self.hidden_features),
            num_transforms=int(self.num_transforms),
            num_bins=int(self.num_bins),
            unconstrained=bool(self.unconstrained),
            prior=self.prior(),
            x_keep=x_keep,
        )

    # -- the sbi chain -----------------------------------------------------------------
    def append_simulations(
        self,
        theta: np.ndarray,
        x: np.ndarray,
        *,
        data_reference: Mapping[str, Any] | None = None,
    ) -> PosteriorEstimator:
        """Add simulated pairs: ``theta`` (M, K) in knob units and ``x`` (M, D) summaries.

        ``data_reference`` (JSON-serialisable) describes where the pairs came from (budget,
        seeds, simulator) and is written to the model manifest by :meth:`save`.
        Calls accumulate, as in sbi.
        """
        self._validate_config()
        theta = np.asarray(theta, dtype=np.float64)
        x = np.asarray(x, dtype=np.float64)
        bounds = self._bounds()
        k = bounds.shape[0]
        if theta.ndim != 2 or theta.shape[1] != k:
            raise ValueError(f"theta must have shape (M, {k}); got {theta.shape}")
        if x.ndim != 2 or x.shape[0] != theta.shape[0]:
            raise ValueError(f"x must have shape ({theta.shape[0]}, D); got {x.shape}")
        if not np.all(np.isfinite(theta)):
            raise ValueError("theta contains NaN or infinite values")
        outside = (theta < bounds[:, 0]) | (theta > bounds[:, 1])
        if outside.any():
            row, col = np.argwhere(outside)[0]
            value = float(theta[row, col])
            raise ValueError(
                f"theta[{row}] has {self._names()[col]}={value!r} outside the prior "
                f"[{bounds[col, 0]}, {bounds[col, 1]}]"
            )
        if not np.all(np.isfinite(x)):
            bad = int(np.flatnonzero(~np.isfinite(x).all(axis=1))[0])
            raise ValueError(f"x contains NaN or infinite values (first bad row {bad})")
        stored = getattr(self, "_theta", None)
        if stored is not None and stored.shape[1:] != theta.shape[1:]:
            raise ValueError("theta columns differ from earlier append_simulations calls")
        if getattr(self, "_x", None) is not None and self._x.shape[1] != x.shape[1]:
            raise ValueError(f"x has {x.shape[1]} columns; earlier calls had {self._x.shape[1]}")
        self._theta = theta if stored is None else np.concatenate([stored, theta])
        self._x = x if stored is None else np.concatenate([self._x, x])
        if data_reference is not None:
            self.data_reference_ = dict(data_reference)
        return self

    def train(self) -> PosteriorEstimator:
        """Train the density estimator on all appended simulations (sbi NPE, early stopping)."""
        import torch
        from sbi.inference import NPE

        if getattr(self, "_theta", None) is None:
            raise NotFittedError("call append_simulations(theta, x) before train()")
        self._validate_config()
        theta = torch.as_tensor(self._theta, dtype=torch.float32)
        x = torch.as_tensor(self._x, dtype=torch.float32)
        x_keep = np.ptp(x.numpy(), axis=0) > 0
        if not x_keep.any():
            raise ValueError("every x column is constant over the simulations: nothing to learn")
        start = time.perf_counter()
        with torch.random.fork_rng(devices=[]), _torch_threads(self.torch_threads):
            torch.manual_seed(_seed_int(self.seed))
            inference = NPE(
                prior=self.prior(),
                density_estimator=self._builder(x_keep),
                show_progress_bars=bool(self.show_progress_bars),
                tracker=_NoTracker(),
            )
            with warnings.catch_warnings():
                # Constant x columns are dropped by the column-selection embedding.
                warnings.filterwarnings("ignore", message="Data has constant values")
                inference.append_simulations(theta, x)
            # sbi prints its convergence note to stdout; the history records it instead.
            quiet = contextlib.nullcontext() if self.show_progress_bars else _no_stdout()
            with quiet:
                density_estimator = inference.train(
                    training_batch_size=int(self.training_batch_size),
                    learning_rate=float(self.learning_rate),
                    validation_fraction=float(self.validation_fraction),
                    stop_after_epochs=int(self.stop_after_epochs),
                    max_num_epochs=int(self.max_num_epochs),
                    clip_max_norm=self.clip_max_norm,
                )
        self.density_estimator_ = density_estimator.eval()
        summary = inference.summary
        self.training_history_ = {
            "training_loss": [float(v) for v in summary["training_loss"]],
            "validation_loss": [float(v) for v in summary["validation_loss"]],
            "epoch_durations_sec": [float(v) for v in summary["epoch_durations_sec"]],
            "epochs_trained": int(summary["epochs_trained"][-1]),
            "best_validation_loss": float(summary["best_validation_loss"][-1]),
            # sbi's epoch counter ends above max_num_epochs when the budget ran out.
            "converged": int(summary["epochs_trained"][-1]) <= int(self.max_num_epochs),
        }
        self.training_time_s_ = time.perf_counter() - start
        self.n_simulations_ = int(theta.shape[0])
        self.x_dim_ = int(x.shape[1])
        self.x_keep_ = x_keep
        self.posterior_ = None
        return self

    def build_posterior(self) -> PosteriorEstimator:
        """Wrap the trained density estimator as an sbi ``DirectPosterior`` (``posterior_``)."""
        from sbi.inference import DirectPosterior

        if getattr(self, "density_estimator_", None) is None:
            raise NotFittedError("call train() before build_posterior()")
        self.posterior_ = DirectPosterior(self.density_estimator_, self.prior())
        return self

    def fit(self, theta: np.ndarray, x: np.ndarray, **kwargs: Any) -> PosteriorEstimator:
        """``append_simulations(theta, x, **kwargs)``, ``train()``, ``build_posterior()``."""
        return self.append_simulations(theta, x, **kwargs).train().build_posterior()

    # -- using the posterior -------------------------------------------------------------
    def _posterior(self):
        if getattr(self, "posterior_", None) is None:
            if getattr(self, "density_estimator_", None) is None:
                raise NotFittedError(
                    "this PosteriorEstimator is not trained; call fit() or "
                    "append_simulations() → train() → build_posterior(), or load() a model"
                )
            self.build_posterior()
        return self.posterior_

    @staticmethod
    def _check_n(n: int) -> int:
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"the number of samples must be a positive integer; got {n!r}")
        return int(n)

    def _x_tensor(self, x_obs: np.ndarray, *, batched: bool):
        import torch

        x = np.asarray(x_obs, dtype=np.float64)
        want = (-1, self.x_dim_) if batched else (self.x_dim_,)
        if x.ndim != len(want) or x.shape[-1] != self.x_dim_:
            shape = f"(B, {self.x_dim_})" if batched else f"({self.x_dim_},)"
            raise ValueError(f"x_obs must have shape {shape}; got {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError("x_obs contains NaN or infinite values")
        return torch.as_tensor(x, dtype=torch.float32)

    def sample(self, x_obs: np.ndarray, n: int, *, seed: int | np.random.Generator) -> np.ndarray:
        """Draw ``n`` posterior samples for one observation ``x_obs`` (D,).

        Returns
        -------
        ndarray, shape (n, K), float64
            Knob units, inside the prior bounds, columns in :attr:`theta_names` order.
        """
        import torch

        posterior = self._posterior()
        n = self._check_n(n)
        x = self._x_tensor(x_obs, batched=False)
        with (
            torch.random.fork_rng(devices=[]),
            torch.no_grad(),
            _torch_threads(self.torch_threads),
        ):
            torch.manual_seed(_seed_int(seed))
            samples = posterior.sample((int(n),), x=x, show_progress_bars=False)
        return self._clip(samples.numpy().astype(np.float64))

    def sample_batched(
        self, x_obs: np.ndarray, n: int, *, seed: int | np.random.Generator
    ) -> np.ndarray:
        """``n`` samples for each of B observations ``x_obs`` (B, D) → array (n, B, K)."""
        import torch

        posterior = self._posterior()
        n = self._check_n(n)
        x = self._x_tensor(x_obs, batched=True)
        with (
            torch.random.fork_rng(devices=[]),
            torch.no_grad(),
            _torch_threads(self.torch_threads),
        ):
            torch.manual_seed(_seed_int(seed))
            samples = posterior.sample_batched(
                (int(n),),
                x=x,
                show_progress_bars=False,
                # sbi's own memory cap (100k draws per round), stated to avoid its warning.
                max_sampling_batch_size=max(1, 100_000 // x.shape[0]),
            )
        return self._clip(samples.numpy().astype(np.float64))

    def _clip(self, samples: np.ndarray) -> np.ndarray:
        # float32 → float64 rounding can put a sample a hair outside a bound.
        bounds = self._bounds()
        return np.clip(samples, bounds[:, 0], bounds[:, 1])

    def log_prob(
        self, theta: np.ndarray, x_obs: np.ndarray, *, seed: int | np.random.Generator = 0
    ) -> np.ndarray:
        """Posterior log density at ``theta`` (M, K) given ``x_obs`` (D,), in knob units.

        −inf outside the prior box. In the bounded (``unconstrained=False``) mode the density is
        renormalised for leakage by sbi's rejection estimate, seeded by ``seed``.
        """
        import torch

        posterior = self._posterior()
        x = self._x_tensor(x_obs, batched=False)
        th = np.asarray(theta, dtype=np.float64)
        if th.ndim == 1:
            th = th[None, :]
        k = self._bounds().shape[0]
        if th.ndim != 2 or th.shape[1] != k:
            raise ValueError(f"theta must have shape (M, {k}); got {np.shape(theta)}")
        with (
            torch.random.fork_rng(devices=[]),
            torch.no_grad(),
            _torch_threads(self.torch_threads),
        ):
            torch.manual_seed(_seed_int(seed))
            lp = posterior.log_prob(
                torch.as_tensor(th, dtype=torch.float32),
                x=x,
                norm_posterior=not self.unconstrained,
            )
        return lp.numpy().astype(np.float64)

    # -- persistence ---------------------------------------------------------------------
    def save(self, directory: str | Path, *, overwrite: bool = False) -> Path:
        """Write ``model.pt`` (state_dict) and ``manifest.json``; see persistence module."""
        from technorhythm.inference.persistence import save_estimator

        return save_estimator(self, directory, overwrite=overwrite)

    @classmethod
    def load(cls, directory: str | Path) -> PosteriorEstimator:
        """Load a saved model; refuses on version-hash mismatch or a tampered file."""
        from technorhythm.inference.persistence import load_estimator

        return load_estimator(directory)

    def __repr__(self) -> str:
        params = ", ".join(
            f"{k}={v!r}" for k, v in self.get_params().items() if k not in ("bounds", "names")
        )
        return f"PosteriorEstimator({params})"
