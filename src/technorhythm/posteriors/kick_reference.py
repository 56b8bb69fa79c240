"""The exact posterior of the kick sub-model, sampled by NUTS in PyMC, and the C2ST to NPE.

The likelihood of :mod:`technorhythm.inference.kick_submodel` written in PyTensor, under
the uniform prior over the three knobs' registry ranges (``kick_late`` at its registry
default, as in the sub-model).

**Strata.** The posterior can have separated modes: a bar with many kicks on its 8th
notes is explained either by more base pulses or by fewer pulses and more extra kicks,
and each whole number of pulses is its own mode, with valleys between. NUTS chains do
not cross such valleys (R-hat says so). So the posterior is sampled per *stratum*, an
interval ``j ≤ kick_pulses ≤ j + 1`` in which the base has j or j + 1 pulses and the
density is smooth:

1. :func:`stratum_optima`: the best log-likelihood of every stratum (Nelder–Mead from
   several starts); strata more than ``mode_gap`` nats (default 25, a mass ratio below
   10⁻¹⁰) under the best are left out, as are strata the clips rule out;
2. NUTS in every remaining stratum (4 chains started near its optimum); R-hat and bulk
   ESS are checked through ArviZ, and a stratum that falls short of R-hat ≤ 1.01 and
   ESS ≥ 400 is sampled again with twice the draws, up to ``max_rounds`` times;
3. :func:`log_evidence`: each stratum's evidence ∫ p(x | θ) dθ by importance sampling
   with a Student-t fitted to its NUTS draws (in the stratum's logit coordinates);
4. the posterior is the mixture of the strata's draws weighted by their evidence.

:func:`c2st` compares two sets of draws with sbi's classifier two-sample test (0.5:
indistinguishable).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from technorhythm.inference import kick_submodel as km
from technorhythm.simulator import patterns as sp

__all__ = [
    "ReferencePosterior",
    "KickReference",
    "build_model",
    "stratum_optima",
    "log_evidence",
    "c2st",
]

_NEG = -1e30  # log of an impossible case, finite so that gradients stay finite


@dataclass(frozen=True)
class ReferencePosterior:
    """The exact posterior of one observation.

    ``draws`` (n, 3): about independent draws of the mixture over strata (:data:`KNOBS`
    order); ``strata``: one row per sampled stratum (``stratum`` = j, ``weight``,
    ``log_evidence``, ``rhat_max``, ``ess_bulk_min``, ``ess_tail_min``, ``divergences``,
    ``draws_per_chain``, ``rounds``); ``seconds``: wall time.
    """

    draws: np.ndarray
    strata: pd.DataFrame
    seconds: float
    chains: int = 4
    notes: tuple[str, ...] = field(default_factory=tuple)

    def converged(self, *, rhat_max: float = 1.01, ess_min: float = 400.0) -> bool:
        """Every stratum that carries weight ≥ 0.001 meets the R-hat and ESS thresholds."""
        s = self.strata[self.strata["weight"] >= 1e-3]
        return bool(((s["rhat_max"] <= rhat_max) & (s["ess_bulk_min"] >= ess_min)).all())


def build_model(data: km.LikelihoodData):
    """The PyMC model of the kick sub-model for the clips in ``data`` (the likelihood of the
    module docstring of :mod:`~technorhythm.inference.kick_submodel`: a bar's terms per base
    k and own configuration o summed out per distinct bar, then the phrases and rotations);
    the pulses' range is the data variable ``pulses_range`` (so that one compiled model
    serves every stratum)."""
    import pymc as pm
    import pytensor.tensor as pt

    box = km.bounds()
    n_k = data.feasible.shape[1]
    n_bars = data.same.shape[1]
    late = km.fixed_value("kick_late")  # not a parameter: its registry default
    values = _data_values(data)
    with pm.Model() as model:
        count = pm.Data("count", values["count"])
        bar_index = pm.Data("bar", values["bar"])
        feasible = pm.Data("feasible_log", values["feasible_log"])
        factors = pm.Data("factors", values["factors"])
        same = pm.Data("same_log", values["same_log"])
        rotations = pm.Data("rotations_log", values["rotations_log"])
        pulses_range = pm.Data("pulses_range", box[0].copy())
        pulses = pm.Uniform(km.KNOBS[0], lower=pulses_range[0], upper=pulses_range[1])
        extra = pm.Uniform(km.KNOBS[1], lower=box[1, 0], upper=box[1, 1])
        variation = pm.Uniform(km.KNOBS[2], lower=box[2, 0], upper=box[2, 1])
        # the pulse count the base acts with: whole numbers on the plateaus around them
        acting = sp.acting_pulses(pulses, xp=pt)
        log_k = pt.log(pt.maximum(1.0 - pt.abs(acting - np.arange(n_k)), 1e-300))
        # the logs of the factors km.FACTORS (extra kicks, the off-beat pair, own beats),
        # finite so that a factor of probability 0 counted 0 times stays 0
        probs = pt.stack(km.factor_probabilities(extra, variation, late))
        log_factors = pt.log(pt.maximum(probs, 1e-300))
        terms = (  # (B, 9, 8): per distinct bar, base k and own configuration
            (factors * log_factors).sum(-1) + log_k[:, None] + feasible
        )
        distinct = pm.math.logsumexp(terms.reshape((terms.shape[0], -1)), axis=-1)  # (B,)
        bar = distinct[bar_index]  # (C, 4)
        log_repeat, log_fresh = pt.log1p(-variation), pt.log(variation)
        per_rotation = []
        for r in range(n_bars):
            order = [(j - r) % n_bars for j in range(n_bars)]  # X_j = Y_order[j]
            rest = sum(
                pt.logaddexp(
                    log_repeat + same[:, order[km.REPEATS[j]], order[j]],
                    log_fresh + bar[:, order[j]],
                )
                for j in range(1, n_bars)
            )
            per_rotation.append(bar[:, order[0]] + rest + rotations[:, r])
        clip = pm.math.logsumexp(pt.stack(per_rotation, axis=1), axis=1, keepdims=False)
        pm.Potential("log_likelihood", (clip * count).sum())
    return model


def _data_values(data: km.LikelihoodData) -> dict[str, np.ndarray]:
    """The model's data variables for the clips in ``data``."""
    return {
        "count": data.count.astype(np.float64),
        "bar": data.bar.astype(np.int64),
        "feasible_log": np.where(data.feasible, 0.0, _NEG),
        "factors": data.factors.astype(np.float64),
        "same_log": np.where(data.same, 0.0, _NEG),
        "rotations_log": np.where(data.rotations, 0.0, _NEG),
    }


def _strata() -> list[int]:
    low, high = km.bounds()[0]
    return list(range(int(np.ceil(low)), int(np.floor(high))))


def _box(j: int) -> np.ndarray:
    box = km.bounds()
    box[0] = (j, j + 1)
    return box


def _to_theta(z: np.ndarray, box: np.ndarray) -> np.ndarray:
    return box[:, 0] + (box[:, 1] - box[:, 0]) / (1.0 + np.exp(-z))


def _to_z(theta: np.ndarray, box: np.ndarray) -> np.ndarray:
    u = np.clip((theta - box[:, 0]) / (box[:, 1] - box[:, 0]), 1e-12, 1 - 1e-12)
    return np.log(u) - np.log1p(-u)


def stratum_optima(data: km.LikelihoodData) -> pd.DataFrame:
    """Best log-likelihood of every stratum the clips allow: ``stratum, loglik`` and the
    arg-max ``kick_pulses, kick_extra, variation``, best first."""
    rows = []
    for j in _strata():
        if not np.all(data.base_fits[:, j] | data.base_fits[:, j + 1]):
            continue  # some bar has a base of more than j + 1 pulses
        box = _box(j)

        def nll(z, box=box):
            value = km.log_likelihood(data, _to_theta(z, box))
            return -value if np.isfinite(value) else 1e300

        best = _minimize(nll)
        if best.fun < 1e299:
            rows.append(
                {
                    "stratum": j,
                    "loglik": -best.fun,
                    **dict(zip(km.KNOBS, _to_theta(best.x, box), strict=True)),
                }
            )
    return pd.DataFrame(rows).sort_values("loglik", ascending=False, ignore_index=True)


_STARTS = ([0.0, -2.0, 0.0], [0.0, 0.0, 0.0], [2.0, 1.0, 1.0], [-2.0, -3.0, -1.0])
"""Nelder–Mead starts in a stratum's logit coordinates (pulses, extra, variation)."""


def _minimize(fun):
    """The best of Nelder–Mead runs from every start in :data:`_STARTS`."""
    from scipy.optimize import minimize

    options = {"xatol": 1e-4, "fatol": 1e-3, "maxiter": 600}
    runs = [minimize(fun, np.array(z0), method="Nelder-Mead", options=options) for z0 in _STARTS]
    return min(runs, key=lambda r: r.fun)


def log_evidence(
    data: km.LikelihoodData,
    draws: np.ndarray,
    stratum: int,
    rng: np.random.Generator,
    *,
    n: int = 4000,
    df: float = 4.0,
) -> float:
    """log ∫_stratum p(x | θ) dθ by importance sampling: a Student-t (``df``) with the mean
    and 1.2× the covariance of the stratum's NUTS ``draws`` in logit coordinates."""
    from scipy import stats
    from scipy.special import logsumexp

    box = _box(stratum)
    z = _to_z(draws, box)
    proposal = stats.multivariate_t(
        z.mean(axis=0), 1.2 * np.cov(z, rowvar=False) + 1e-9 * np.eye(3), df=df, seed=rng
    )
    zs = proposal.rvs(n)
    theta = _to_theta(zs, box)
    # dθ/dz = width · σ(z) · (1 − σ(z)), in logs without underflow
    log_jac = np.log(box[:, 1] - box[:, 0]) - np.logaddexp(0.0, zs) - np.logaddexp(0.0, -zs)
    log_w = km.log_likelihood(data, theta) + log_jac.sum(axis=1) - proposal.logpdf(zs)
    return float(logsumexp(log_w) - np.log(n))


def _independent(draws: np.ndarray, chains: int, ess: float) -> np.ndarray:
    """Every ``ceil(total / ESS)``-th draw of each chain: about independent draws."""
    per_chain = draws.reshape(chains, -1, draws.shape[-1])
    step = max(1, int(np.ceil(len(draws) / max(ess, 1.0))))
    return per_chain[:, ::step].reshape(-1, draws.shape[-1])


class KickReference:
    """NUTS sampler of the kick sub-model's exact posterior (module docstring).

    Parameters
    ----------
    draws, tune, chains : NUTS settings per stratum (chains run one after the other).
    target_accept : NUTS target acceptance.
    mode_gap : strata whose best log-likelihood is more than this many nats under the best
        stratum's are left out.
    rhat_max, ess_min, max_rounds : convergence thresholds and how often a stratum is
        sampled again, with twice the draws, to meet them.
    """

    def __init__(
        self,
        *,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        target_accept: float = 0.9,
        mode_gap: float = 25.0,
        rhat_max: float = 1.01,
        ess_min: float = 400.0,
        max_rounds: int = 3,
    ) -> None:
        self.draws = draws
        self.tune = tune
        self.chains = chains
        self.target_accept = target_accept
        self.mode_gap = mode_gap
        self.rhat_max = rhat_max
        self.ess_min = ess_min
        self.max_rounds = max_rounds
        self._model = None

    def _model_for(self, data: km.LikelihoodData):
        import pymc as pm

        values = _data_values(data)
        if self._model is None:
            self._model = build_model(data)
        else:
            with self._model:
                pm.set_data(values)
        return self._model

    def _sample_stratum(self, model, start: dict, seed: int) -> tuple[np.ndarray, dict]:
        import pymc as pm

        from technorhythm.posteriors.arviz_adapter import convergence_summary

        n_draws = int(self.draws)
        for rounds in range(1, self.max_rounds + 1):
            with model:
                idata = pm.sample(
                    draws=n_draws,
                    tune=self.tune,
                    chains=self.chains,
                    cores=1,
                    initvals=start,
                    random_seed=[seed + 1000 * rounds + c for c in range(self.chains)],
                    target_accept=self.target_accept,
                    progressbar=False,
                    compute_convergence_checks=False,
                )
            conv = convergence_summary(idata, list(km.KNOBS))
            if conv["rhat_max"] <= self.rhat_max and conv["ess_bulk_min"] >= self.ess_min:
                break
            if rounds < self.max_rounds:
                n_draws *= 2
        post = idata.posterior
        draws = np.stack(
            [post[k].transpose("chain", "draw").values.reshape(-1) for k in km.KNOBS], -1
        )
        record = {
            **conv,
            "divergences": int(idata.sample_stats["diverging"].values.sum()),
            "draws_per_chain": n_draws,
            "rounds": rounds,
        }
        return draws, record

    def posterior(
        self, rows: np.ndarray, *, seed: int = 0, n_draws: int = 4000
    ) -> ReferencePosterior:
        """The exact posterior of the kick rows (C, 4, 16) of one observation; at most
        ``n_draws`` independent draws of it."""
        import pymc as pm

        start = time.perf_counter()
        data = km.likelihood_data(rows)
        optima = stratum_optima(data)
        keep = optima[optima["loglik"] >= optima["loglik"].iloc[0] - self.mode_gap]
        model = self._model_for(data)
        rng = np.random.default_rng(seed)
        pieces, records = [], []
        for row in keep.to_dict("records"):
            j = int(row["stratum"])
            with model:
                pm.set_data({"pulses_range": _box(j)[0]})
            theta0 = np.clip([row[k] for k in km.KNOBS], _box(j)[:, 0] + 1e-6, _box(j)[:, 1] - 1e-6)
            draws, record = self._sample_stratum(
                model, dict(zip(km.KNOBS, theta0, strict=True)), seed + 17 * j
            )
            record["stratum"] = j
            record["log_evidence"] = log_evidence(data, draws, j, rng)
            pieces.append(_independent(draws, self.chains, record["ess_bulk_min"]))
            records.append(record)
        strata = pd.DataFrame(records)
        log_z = strata["log_evidence"].to_numpy()
        weight = np.exp(log_z - log_z.max())
        strata["weight"] = weight / weight.sum()
        return ReferencePosterior(
            draws=_mixture(pieces, strata["weight"].to_numpy(), n_draws, rng),
            strata=strata[
                [
                    "stratum",
                    "weight",
                    "log_evidence",
                    "rhat_max",
                    "ess_bulk_min",
                    "ess_tail_min",
                    "divergences",
                    "draws_per_chain",
                    "rounds",
                ]
            ],
            seconds=time.perf_counter() - start,
            chains=self.chains,
        )


def _mixture(
    pieces: list[np.ndarray], weight: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """About ``n`` draws of the mixture of ``pieces`` (independent draws per stratum) with
    the given weights, without reusing a draw (fewer when a stratum has too few)."""
    available = np.array([len(p) for p in pieces], dtype=float)
    scale = min(1.0, *(available[weight > 0] / (weight[weight > 0] * n)))
    counts = np.floor(weight * n * scale).astype(int)
    out = [p[rng.permutation(len(p))[:c]] for p, c in zip(pieces, counts, strict=True)]
    mixed = np.concatenate(out)
    return mixed[rng.permutation(len(mixed))]


def c2st(a: np.ndarray, b: np.ndarray, *, seed: int = 0) -> float:
    """Classifier two-sample test accuracy of draws ``a`` against ``b`` (sbi's ``c2st``:
    random forest, 5-fold cross-validation, z-scored); 0.5 means indistinguishable. Uses
    the same number of draws of each (the smaller count)."""
    import torch
    from sbi.utils.metrics import c2st as sbi_c2st

    n = min(len(a), len(b))
    x = torch.as_tensor(np.asarray(a[:n]), dtype=torch.float32)
    y = torch.as_tensor(np.asarray(b[:n]), dtype=torch.float32)
    return float(sbi_c2st(x, y, seed=seed))
