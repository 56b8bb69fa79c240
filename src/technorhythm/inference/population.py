"""The population model of a pack: each loop has its own knobs, drawn from the pack's population.

A pack of N loops is a population. Loop i has its own knob vector θ_i; per knob k the
loops' values come from a *censored normal* whose hyperparameters ψ are a location and a
spread per knob:

    z_ik ~ Normal(loc_k, spread_k)          (latent, knob units, unbounded)
    θ_ik = clip(z_ik, low_k, high_k)        (the value the simulator plays)

Knobs are independent given ψ. The censoring puts real probability mass *on* the bounds:
``P(θ_ik = low_k) = Φ((low_k − loc_k) / spread_k)``. A pack whose loops all have no ride
(``ride = 0`` in every loop) is a location below the lower bound with a small
spread; a preset pack (every loop the same θ) is a spread near 0. The location may
therefore lie outside the knob's range, by up to :data:`LOC_MARGIN` of the range on either
side; the spread runs from 0 to :data:`SPREAD_MAX` of the range.

The hyperprior is uniform over that box (:func:`hyper_bounds`), built from the knob
registry, so the model follows the registry's knobs whatever their number, with one
addition: a knob whose acting value is constant on intervals
(:data:`technorhythm.simulator.patterns.PLATEAUS`: the dead zones at 0 of swing, humanize,
push and velocity jitter; the whole-number plateaus of ``kick_pulses``) is, with probability
:data:`REST_SHARE`, *at rest* in the pack: its location lies within half a plateau's
half-width of one of the plateaus' centres (chosen uniformly) and its spread below a sixth of
the half-width, so that practically every loop plays exactly the plateau's value.
Step-sequenced packs are like that (quantized, fixed velocities, four kicks in every bar),
and a uniform box gives them almost no mass: a pack with push exactly 0 in every loop needs a
location within 1.5 ms of 0 *and* a spread below 0.5 ms, about 1 in 2 400 draws per knob
(3/120 × 0.5/30).

ψ is laid out as ``[loc_1 … loc_K, spread_1 … spread_K]`` in knob units; names come from
:func:`hyper_names` (``"<knob>_loc"``, ``"<knob>_spread"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from technorhythm.inference.prior import check_bounds, knob_bounds
from technorhythm.simulator.knobs import KNOB_NAMES
from technorhythm.simulator.patterns import PLATEAUS

__all__ = [
    "LOC_MARGIN",
    "REST_SHARE",
    "SPREAD_MAX",
    "Population",
    "hyper_bounds",
    "hyper_names",
]

LOC_MARGIN = 0.5
"""How far outside the knob range the location may lie, as a fraction of the range."""
SPREAD_MAX = 0.5
"""Largest population spread (standard deviation), as a fraction of the knob range."""
REST_SHARE = 0.3
"""Hyperprior probability that a knob with plateaus is at rest in a pack (module docstring);
knobs are at rest independently."""


def hyper_names(knob_names: tuple[str, ...] = KNOB_NAMES) -> tuple[str, ...]:
    """Names of ψ's entries: every knob's ``_loc``, then every knob's ``_spread``."""
    return tuple(f"{n}_loc" for n in knob_names) + tuple(f"{n}_spread" for n in knob_names)


def hyper_bounds(bounds: np.ndarray | None = None) -> np.ndarray:
    """The uniform hyperprior's box, shape (2K, 2), knob units (see the module docstring)."""
    b = knob_bounds() if bounds is None else check_bounds(bounds)
    width = b[:, 1] - b[:, 0]
    loc = np.column_stack([b[:, 0] - LOC_MARGIN * width, b[:, 1] + LOC_MARGIN * width])
    spread = np.column_stack([np.zeros(len(b)), SPREAD_MAX * width])
    return np.concatenate([loc, spread])


@dataclass(frozen=True)
class Population:
    """The censored-normal population over a box of knobs.

    Attributes
    ----------
    bounds : ndarray (K, 2)
        Knob bounds (knob units); default: the registry's.
    names : tuple of str
        Knob names, one per bounds row.
    """

    bounds: np.ndarray
    names: tuple[str, ...]

    @classmethod
    def from_registry(cls) -> Population:
        """The population over every knob of the registry."""
        return cls(knob_bounds(), KNOB_NAMES)

    def __post_init__(self) -> None:
        b = check_bounds(self.bounds)
        object.__setattr__(self, "bounds", b)
        object.__setattr__(self, "names", tuple(str(n) for n in self.names))
        if len(self.names) != len(b):
            raise ValueError(f"{len(self.names)} names for {len(b)} bounds rows")

    @property
    def n_knobs(self) -> int:
        """K, the number of knobs."""
        return len(self.names)

    @property
    def hyper_bounds(self) -> np.ndarray:
        """Box of ψ, shape (2K, 2)."""
        return hyper_bounds(self.bounds)

    @property
    def hyper_names(self) -> tuple[str, ...]:
        """Names of ψ's 2K entries."""
        return hyper_names(self.names)

    def split(self, psi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """ψ (..., 2K) → (loc (..., K), spread (..., K))."""
        psi = np.asarray(psi, dtype=np.float64)
        if psi.shape[-1] != 2 * self.n_knobs:
            raise ValueError(f"psi must end in 2K = {2 * self.n_knobs} entries; got {psi.shape}")
        return psi[..., : self.n_knobs], psi[..., self.n_knobs :]

    @property
    def rest_knobs(self) -> dict[int, tuple[np.ndarray, float]]:
        """Column → (plateau centres within the knob's bounds, half-width) of the knobs with
        a rest component."""
        out = {}
        for k, n in enumerate(self.names):
            if n in PLATEAUS:
                centres = np.asarray(PLATEAUS[n][0], dtype=np.float64)
                low, high = self.bounds[k]
                centres = centres[(centres >= low) & (centres <= high)]
                if len(centres):
                    out[k] = (centres, float(PLATEAUS[n][1]))
        return out

    def sample_hyper(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws of ψ from the hyperprior, shape (n, 2K): the uniform box, and each
        knob with plateaus at rest with probability :data:`REST_SHARE` (module docstring)."""
        box = self.hyper_bounds
        psi = box[:, 0] + rng.random((int(n), len(box))) * (box[:, 1] - box[:, 0])
        for k, (centres, half) in self.rest_knobs.items():
            rest = np.flatnonzero(rng.random(int(n)) < REST_SHARE)
            u = rng.random((len(rest), 2))
            centre = centres[rng.integers(0, len(centres), size=len(rest))]
            psi[rest, k] = centre + (u[:, 0] - 0.5) * half
            psi[rest, self.n_knobs + k] = u[:, 1] * half / 6
        return psi

    def hyper_prior_sd(self) -> np.ndarray:
        """Standard deviation of every entry of ψ under the hyperprior (2K,), knob units."""
        box = self.hyper_bounds
        mean = box.mean(axis=1)
        second = (box[:, 1] - box[:, 0]) ** 2 / 12.0 + mean**2
        for k, (centres, half) in self.rest_knobs.items():
            # rest location: a uniform centre plus U(-half/2, half/2); spread U(0, half/6)
            rest = (
                (k, centres.mean(), centres.var() + half**2 / 12.0),
                (self.n_knobs + k, half / 12.0, (half / 6) ** 2 / 12.0),
            )
            for j, m_rest, v_rest in rest:
                mean[j], second[j] = (
                    (1 - REST_SHARE) * mean[j] + REST_SHARE * m_rest,
                    (1 - REST_SHARE) * second[j] + REST_SHARE * (v_rest + m_rest**2),
                )
        return np.sqrt(np.maximum(second - mean**2, 0.0))

    def sample_latent(
        self, psi: np.ndarray, n_per_set: np.ndarray | int, rng: np.random.Generator
    ) -> np.ndarray:
        """Latent knob values z of the loops of sets, shape (Σ n, K), set-major.

        ``psi`` (M, 2K) holds one ψ per set; set j gets ``n_per_set[j]`` loops.
        """
        psi = np.atleast_2d(np.asarray(psi, dtype=np.float64))
        sizes = np.broadcast_to(np.asarray(n_per_set, dtype=np.int64), (len(psi),))
        loc, spread = self.split(psi)
        loc = np.repeat(loc, sizes, axis=0)
        spread = np.repeat(spread, sizes, axis=0)
        return loc + spread * rng.standard_normal(loc.shape)

    def clip(self, z: np.ndarray) -> np.ndarray:
        """θ = clip(z) to the knob bounds (knob units)."""
        return np.clip(z, self.bounds[:, 0], self.bounds[:, 1])

    def sample_loops(
        self, psi: np.ndarray, n_per_set: np.ndarray | int, rng: np.random.Generator
    ) -> np.ndarray:
        """Knob values θ of the loops of sets drawn from ψ, shape (Σ n, K), set-major."""
        return self.clip(self.sample_latent(psi, n_per_set, rng))

    def mass_at_bounds(self, psi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Share of loops exactly at the lower and at the upper bound, each (..., K)."""
        from scipy.special import ndtr

        loc, spread = self.split(psi)
        s = np.maximum(spread, 1e-12)
        return ndtr((self.bounds[:, 0] - loc) / s), ndtr((loc - self.bounds[:, 1]) / s)

    def mean(self, psi: np.ndarray) -> np.ndarray:
        """Mean knob value over the population's loops, E[θ] (..., K), knob units.

        The mean of a normal censored to [a, b]:
        ``a·Φ(α) + b·Φ(−β) + μ(Φ(β) − Φ(α)) + σ(φ(α) − φ(β))`` with α = (a − μ)/σ,
        β = (b − μ)/σ.
        """
        from scipy.special import ndtr

        loc, spread = self.split(psi)
        a, b = self.bounds[:, 0], self.bounds[:, 1]
        s = np.maximum(spread, 1e-12)
        alpha, beta = (a - loc) / s, (b - loc) / s
        pdf = lambda t: np.exp(-0.5 * t * t) / np.sqrt(2 * np.pi)  # noqa: E731
        return (
            a * ndtr(alpha)
            + b * ndtr(-beta)
            + loc * (ndtr(beta) - ndtr(alpha))
            + s * (pdf(alpha) - pdf(beta))
        )
