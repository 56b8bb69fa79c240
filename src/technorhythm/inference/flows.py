"""A conditional normalising flow q(t | c) on unbounded targets, trained with sbi's NPE.

The population model needs two of them (:mod:`technorhythm.inference.population_estimator`):
the pack network q(ψ | set summaries) and the loop network q(z | loop features, ψ). Both
are sbi's chain — ``NPE.append_simulations → train`` with a zuko flow — behind the
scikit-learn contract (``__init__`` stores, fitted state ends in ``_``, seeds explicit,
global torch state untouched). The targets t are unbounded; bounded parameters are mapped
to t by :class:`BoxLogit` first.

Why the bounds are reachable: sbi z-scores t ("independent") before the flow, so the
zuko spline domain of ±5 covers ±5 standard deviations of t. For a parameter uniform on a
box, logit(u) has sd ≈ 1.8, so ±5 sd reaches logit ±9, i.e. within 1.2e-4 of the range
from either bound, and the Gaussian base carries mass beyond. (On raw logit(θ) the
domain ended at sigmoid(±5) = 0.0067 of the range, and no draw came closer.)
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from technorhythm.inference.estimator import _no_stdout, _NoTracker, _seed_int, _torch_threads
from technorhythm.inference.mdn import mdn_sampler
from technorhythm.inference.networks import column_selection

__all__ = ["BoxLogit", "ConditionalFlow", "FLOW_PARAMS", "SAMPLE_CHUNK"]

_EPS = 1e-6

FLOW_PARAMS: tuple[str, ...] = (
    "model",
    "hidden_features",
    "num_transforms",
    "num_bins",
    "embedding_features",
    "passes",
    "affine_head",
    "training_batch_size",
    "learning_rate",
    "validation_fraction",
    "stop_after_epochs",
    "max_num_epochs",
    "anneal_epochs",
    "anneal_factor",
    "clip_max_norm",
    "seed",
    "torch_threads",
)
"""The constructor arguments of :class:`ConditionalFlow` (its saved configuration)."""

SAMPLE_CHUNK = 4096
"""Draws per network call when sampling. A spline flow's intermediate tensors grow with the
draws of a call; a few thousand keep them in the CPU's cache (``benchmarks/bench_training.py``
times 50 000 against this)."""


class BoxLogit:
    """θ in a box (K, 2) ↔ t = logit((θ − low) / (high − low)), with log-Jacobians."""

    def __init__(self, bounds: np.ndarray) -> None:
        self.bounds = np.asarray(bounds, dtype=np.float64)
        self.width = self.bounds[:, 1] - self.bounds[:, 0]

    def forward(self, theta: np.ndarray) -> np.ndarray:
        """θ → t (values exactly on a bound are moved 1e-6 of the range inside)."""
        u = (np.asarray(theta, dtype=np.float64) - self.bounds[:, 0]) / self.width
        u = np.clip(u, _EPS, 1 - _EPS)
        return np.log(u) - np.log1p(-u)

    def inverse(self, t: np.ndarray) -> np.ndarray:
        """t → θ, inside the box."""
        from scipy.special import expit

        theta = self.bounds[:, 0] + expit(np.asarray(t, dtype=np.float64)) * self.width
        return np.clip(theta, self.bounds[:, 0], self.bounds[:, 1])

    def log_det_forward(self, theta: np.ndarray) -> np.ndarray:
        """log |dt/dθ| summed over the parameters, shape (...)."""
        u = (np.asarray(theta, dtype=np.float64) - self.bounds[:, 0]) / self.width
        u = np.clip(u, _EPS, 1 - _EPS)
        return np.sum(-np.log(u) - np.log1p(-u) - np.log(self.width), axis=-1)


class ConditionalFlow:
    """q(t | c): a zuko neural spline flow on z-scored targets, trained by sbi NPE.

    Parameters
    ----------
    model : {"nsf", "mdn"}
        zuko neural spline flow, or sbi's mixture density network (a Gaussian mixture with
        full covariances whose parameters one network pass gives: far faster to sample).
    hidden_features, num_transforms, num_bins : int
        Network size (``num_transforms``: spline transforms, or mixture components for
        ``"mdn"``; ``num_bins`` for splines only).
    embedding_features : sequence of int
        Hidden widths of a fully connected embedding of the (z-scored) condition; empty:
        the condition goes to the flow as it is.
    passes : int or None
        None: fully autoregressive transforms (one network pass per target dimension when
        sampling); 2: coupling transforms (two passes), much faster to sample.
    affine_head : bool
        ``"nsf"`` only: put a conditional location-scale transform between the z-scored
        targets and the splines, t' = t · a(c) + b(c) per target dimension, whose a and b a
        network computes from the (embedded) condition alone (:func:`with_affine_head`).
        The splines then shape a standardised residual
        (:mod:`technorhythm.inference.affine_head`).
    training_batch_size, learning_rate, validation_fraction, stop_after_epochs, \
max_num_epochs, clip_max_norm
        Passed to ``sbi.inference.NPE.train`` (early stopping on the held-out fraction).
    anneal_epochs, anneal_factor : int, float
        When the first phase stops (early stopping or ``max_num_epochs``), up to
        ``anneal_epochs`` more epochs at the learning rate times ``anneal_factor``, resumed
        from the best weights with the same optimizer and validation split (sbi's
        ``resume_training``); the best validated weights are kept. A step decay: the smaller
        step settles where the larger one keeps moving. 0 epochs: no second phase.
    seed : int
        Seeds initialisation, validation split and minibatches.
    torch_threads : int or None
        torch intra-op threads while training and sampling (restored after).
    """

    def __init__(
        self,
        *,
        model: str = "nsf",
        hidden_features: int = 64,
        num_transforms: int = 5,
        num_bins: int = 8,
        embedding_features: Sequence[int] = (),
        passes: int | None = None,
        affine_head: bool = False,
        training_batch_size: int = 512,
        learning_rate: float = 1e-3,
        validation_fraction: float = 0.1,
        stop_after_epochs: int = 20,
        max_num_epochs: int = 1000,
        anneal_epochs: int = 0,
        anneal_factor: float = 0.2,
        clip_max_norm: float | None = 5.0,
        seed: int = 0,
        torch_threads: int | None = 1,
        show_progress_bars: bool = False,
    ) -> None:
        self.model = model
        self.hidden_features = hidden_features
        self.num_transforms = num_transforms
        self.num_bins = num_bins
        self.embedding_features = embedding_features
        self.passes = passes
        self.affine_head = affine_head
        self.training_batch_size = training_batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.stop_after_epochs = stop_after_epochs
        self.max_num_epochs = max_num_epochs
        self.anneal_epochs = anneal_epochs
        self.anneal_factor = anneal_factor
        self.clip_max_norm = clip_max_norm
        self.seed = seed
        self.torch_threads = torch_threads
        self.show_progress_bars = show_progress_bars

    def get_params(self) -> dict[str, Any]:
        """The saved configuration (JSON-friendly)."""
        params = {name: getattr(self, name) for name in FLOW_PARAMS}
        params["embedding_features"] = [int(v) for v in self.embedding_features]
        params["affine_head"] = bool(self.affine_head)
        return params

    def _validate(self) -> None:
        if self.model not in ("nsf", "mdn"):
            raise ValueError(f"model must be 'nsf' or 'mdn'; got {self.model!r}")
        for name in ("hidden_features", "num_transforms", "num_bins", "training_batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        epochs = self.anneal_epochs
        if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 0:
            raise ValueError(f"anneal_epochs must be a non-negative integer; got {epochs!r}")
        if not 0.0 < float(self.anneal_factor) <= 1.0:
            raise ValueError(f"anneal_factor must be in (0, 1]; got {self.anneal_factor!r}")
        if not isinstance(self.affine_head, bool | np.bool_):
            raise ValueError(f"affine_head must be True or False; got {self.affine_head!r}")
        if self.affine_head and self.model != "nsf":
            raise ValueError("affine_head applies to model='nsf' only")
        if any(int(v) < 1 for v in self.embedding_features):
            raise ValueError(f"embedding_features must be positive; got {self.embedding_features}")
        if not 0.0 < float(self.validation_fraction) < 1.0:
            raise ValueError(
                f"validation_fraction must be in (0, 1); got {self.validation_fraction}"
            )
        _seed_int(self.seed)

    def _builder(self, c_keep: np.ndarray):
        from sbi.neural_nets import posterior_nn
        from torch import nn

        layers: list[nn.Module] = [column_selection(c_keep)]
        width = int(c_keep.sum())
        for h in self.embedding_features:
            layers += [nn.Linear(width, int(h)), nn.ReLU()]
            width = int(h)
        embedding = nn.Sequential(*layers) if len(layers) > 1 else layers[0]
        if self.model == "mdn":
            return posterior_nn(
                "mdn",
                z_score_theta="independent",
                z_score_x="independent",
                hidden_features=int(self.hidden_features),
                num_components=int(self.num_transforms),
                embedding_net=embedding,
            )
        from technorhythm.inference.affine_head import with_affine_head
        from technorhythm.inference.splines import with_fast_splines

        extra = {} if self.passes is None else {"passes": int(self.passes)}
        with warnings.catch_warnings():
            # sbi forwards zuko's own ``passes`` (coupling) to the builder and says so
            warnings.filterwarnings("ignore", message="Unknown kwargs passed")
            build = posterior_nn(
                "zuko_nsf",
                z_score_theta="independent",
                z_score_x="independent",
                hidden_features=int(self.hidden_features),
                num_transforms=int(self.num_transforms),
                num_bins=int(self.num_bins),
                embedding_net=embedding,
                **extra,
            )
        build = with_fast_splines(build)
        if self.affine_head:
            build = with_affine_head(build, int(self.hidden_features))
        return build

    def fit(self, t: np.ndarray, c: np.ndarray) -> ConditionalFlow:
        """Train on targets ``t`` (M, P) and conditions ``c`` (M, D), both finite."""
        import torch
        from sbi.inference import NPE

        self._validate()
        t = np.asarray(t, dtype=np.float64)
        c = np.asarray(c, dtype=np.float64)
        if t.ndim != 2 or c.ndim != 2 or len(t) != len(c):
            raise ValueError(f"t (M, P) and c (M, D) must agree; got {t.shape} and {c.shape}")
        if not (np.all(np.isfinite(t)) and np.all(np.isfinite(c))):
            raise ValueError("targets and conditions must be finite")
        # torch refuses to share read-only memory (e.g. a worker process's memory map)
        t = t if t.flags.writeable else t.copy()
        c = c if c.flags.writeable else c.copy()
        c_keep = np.ptp(c, axis=0) > 0
        if not c_keep.any():
            raise ValueError("every condition column is constant: nothing to learn")
        start = time.perf_counter()
        with torch.random.fork_rng(devices=[]), _torch_threads(self.torch_threads):
            torch.manual_seed(_seed_int(self.seed))
            inference = NPE(
                prior=None,
                density_estimator=self._builder(c_keep),
                show_progress_bars=bool(self.show_progress_bars),
                tracker=_NoTracker(),
            )
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Data has constant values")
                inference.append_simulations(
                    torch.as_tensor(t, dtype=torch.float32),
                    torch.as_tensor(c, dtype=torch.float32),
                )
            quiet = contextlib.nullcontext() if self.show_progress_bars else _no_stdout()
            with quiet:
                net = self._train(inference)
        summary = inference.summary
        self.network_ = net.eval()
        self.history_ = {
            "training_loss": [float(v) for v in summary["training_loss"]],
            "validation_loss": [float(v) for v in summary["validation_loss"]],
            "epochs_trained": int(summary["epochs_trained"][-1]),
            "best_validation_loss": float(summary["best_validation_loss"][-1]),
            "converged": int(summary["epochs_trained"][0]) <= int(self.max_num_epochs),
            "anneal_from_epoch": int(summary["epochs_trained"][0]) if self.anneal_epochs else None,
        }
        self.training_time_s_ = time.perf_counter() - start
        self.n_train_ = len(t)
        self.t_dim_ = t.shape[1]
        self.c_dim_ = c.shape[1]
        self.c_keep_ = c_keep
        return self

    def _train(self, inference):
        """sbi's training, then the annealing phase (``anneal_epochs``) if asked for."""
        settings = dict(
            training_batch_size=int(self.training_batch_size),
            validation_fraction=float(self.validation_fraction),
            stop_after_epochs=int(self.stop_after_epochs),
            clip_max_norm=self.clip_max_norm,
        )
        lr = float(self.learning_rate)
        net = inference.train(learning_rate=lr, max_num_epochs=int(self.max_num_epochs), **settings)
        if not self.anneal_epochs:
            return net
        for group in inference.optimizer.param_groups:
            group["lr"] = lr * float(self.anneal_factor)
        # Early stopping counts anew at the new rate (else a first phase that stopped early
        # would leave the second no epoch). sbi's first check of the resumed loop scores the
        # first phase's last epoch again, so the patience is one more to give the same
        # number of fruitless new epochs.
        inference._epochs_since_last_improvement = 0
        settings["stop_after_epochs"] += 1
        # sbi counts epochs across calls; its loop runs while epoch <= max_num_epochs
        last = int(inference.summary["epochs_trained"][-1]) + int(self.anneal_epochs) - 1
        return inference.train(
            learning_rate=lr * float(self.anneal_factor),
            max_num_epochs=last,
            resume_training=True,
            **settings,
        )

    def _net(self):
        net = getattr(self, "network_", None)
        if net is None:
            from technorhythm.inference.estimator import NotFittedError

            raise NotFittedError("this ConditionalFlow is not trained; call fit() or load one")
        return net

    def _condition(self, c: np.ndarray):
        import torch

        c = np.asarray(c)
        if c.dtype != np.float32:  # the network's precision; float32 input is used as is
            c = c.astype(np.float64)
        if c.ndim != 2 or c.shape[1] != self.c_dim_:
            raise ValueError(f"conditions must have shape (B, {self.c_dim_}); got {c.shape}")
        if not np.all(np.isfinite(c)):
            raise ValueError("conditions contain NaN or infinite values")
        return torch.as_tensor(c, dtype=torch.float32)

    def sample(
        self,
        c: np.ndarray,
        n: int,
        *,
        seed: int | np.random.Generator,
        chunk: int = SAMPLE_CHUNK,
        threads: int | None = None,
        first: int = 0,
    ) -> np.ndarray:
        """``n`` draws of t for each condition row of ``c`` (B, D) → (n, B, P) float64.

        Rows are sampled in chunks of about ``chunk`` draws (bounded memory; the draws depend
        on it). ``threads``: torch threads for this call (None: the flow's ``torch_threads``).
        ``first``: only t's entries ``first, …, P − 1`` are needed; a mixture density network
        may then leave the others NaN (:func:`~technorhythm.inference.mdn.mdn_sampler`), the
        needed entries equal to the full draws' to float32 rounding.
        """
        import torch

        net = self._net()
        cond = self._condition(c)
        if isinstance(n, bool) or int(n) < 1:
            raise ValueError(f"the number of draws must be a positive integer; got {n!r}")
        rows = max(1, int(chunk) // int(n))
        draw = mdn_sampler(net, first) if self.model == "mdn" else None
        if draw is None:

            def draw(condition, k):
                return net.sample((k,), condition=condition)

        out = []
        with (
            torch.random.fork_rng(devices=[]),
            torch.no_grad(),
            _torch_threads(self.torch_threads if threads is None else threads),
        ):
            # the CPU generator only: torch.manual_seed also visits every accelerator's,
            # which costs more than a small call's draws (fit makes thousands of calls)
            torch.random.default_generator.manual_seed(_seed_int(seed))
            for start in range(0, len(cond), rows):
                out.append(draw(cond[start : start + rows], int(n)))
        return torch.cat(out, dim=1).numpy().astype(np.float64)

    def log_prob(self, t: np.ndarray, c: np.ndarray) -> np.ndarray:
        """log q(t | c) for t (n, B, P) and c (B, D) → (n, B)."""
        import torch

        net = self._net()
        cond = self._condition(c)
        t = np.asarray(t, dtype=np.float64)
        if t.ndim == 2:
            t = t[:, None, :]
        with torch.no_grad(), _torch_threads(self.torch_threads):
            lp = net.log_prob(torch.as_tensor(t, dtype=torch.float32), condition=cond)
        return lp.numpy().astype(np.float64)

    # -- persistence (see technorhythm.inference.population_io) ------------------------
    def state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(tensors, JSON record) describing the trained flow."""
        tensors = {k: v.detach().cpu().clone() for k, v in self._net().state_dict().items()}
        record = {
            "config": self.get_params(),
            "t_dim": int(self.t_dim_),
            "c_dim": int(self.c_dim_),
            "c_keep": [bool(v) for v in self.c_keep_],
            "n_train": int(self.n_train_),
            "training_time_s": float(self.training_time_s_),
            "history": self.history_,
        }
        return tensors, record

    @classmethod
    def from_state(cls, tensors: dict[str, Any], record: dict[str, Any]) -> ConditionalFlow:
        """Rebuild a trained flow from :meth:`state` (strict shape check)."""
        import torch

        flow = cls(**record["config"])
        c_keep = np.asarray(record["c_keep"], dtype=bool)
        t_dim, c_dim = int(record["t_dim"]), int(record["c_dim"])
        if c_keep.shape != (c_dim,) or not c_keep.any():
            raise ValueError(f"c_keep must list {c_dim} booleans, at least one true")
        t_dummy = torch.zeros((2, t_dim)) + torch.tensor([[0.0], [1.0]])
        c_dummy = torch.zeros((2, c_dim)) + torch.tensor([[0.0], [1.0]])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                net = flow._builder(c_keep)(t_dummy, c_dummy)
        net.load_state_dict(tensors, strict=True)
        flow.network_ = net.eval()
        flow.t_dim_, flow.c_dim_, flow.c_keep_ = t_dim, c_dim, c_keep
        flow.n_train_ = int(record.get("n_train", 0))
        flow.training_time_s_ = float(record.get("training_time_s", float("nan")))
        flow.history_ = record.get("history", {})
        return flow
