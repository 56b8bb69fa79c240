"""A population estimator with known answers, and real packs drawn from known populations.

``PopulationOracle(answers)`` ignores the observations. Its i-th call of ``sample_hyper``
answers with the i-th ``(loc, spread)`` pair (cycling): locations Normal(loc, (loc_sd of
each knob's range)²) and the given spreads (knob units); ``fit_groups`` asks for the groups
in fit order, so each pack gets its own known posterior. Per-loop draws come from the
population given each ψ draw.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from technorhythm.clips import ClipBatch
from technorhythm.inference.population import Population
from technorhythm.inference.set_summaries import set_feature_names
from technorhythm.simulator import simulate
from technorhythm.simulator.knobs import KNOBS

POPULATION = Population.from_registry()
WIDTH = POPULATION.bounds[:, 1] - POPULATION.bounds[:, 0]


def at_fraction(fraction: float) -> np.ndarray:
    """Every knob at ``fraction`` of its range (knob units)."""
    return np.array([k.low + fraction * (k.high - k.low) for k in KNOBS])


STEADY = (at_fraction(0.5), 0.1 * WIDTH)
"""Pack ``steady``: every knob's loops centred mid-range, sd 10% of the range."""
EDGE = (at_fraction(0.2), 0.05 * WIDTH)
"""Pack ``edge``: loops centred at 20% of each range, sd 5%."""
SIZES = {"edge": 24, "steady": 40}


class PopulationOracle:
    population = POPULATION
    theta_names = POPULATION.names
    theta_bounds = POPULATION.bounds
    hyper_names = POPULATION.hyper_names

    def __init__(self, answers, loc_sd: float = 0.02, n_max: int = 1024) -> None:
        self.answers = [(np.asarray(a, float), np.asarray(b, float)) for a, b in answers]
        self.loc_sd = loc_sd
        self.data_reference_ = {"n_range": [1, n_max]}
        self.n_sets_ = 0
        self.x_dim_ = len(set_feature_names())
        self.calls = 0

    def sample_hyper(self, x_obs: np.ndarray, n: int, *, seed: int) -> np.ndarray:
        x_obs = np.atleast_2d(np.asarray(x_obs))
        loc, spread = self.answers[self.calls % len(self.answers)]
        self.calls += 1
        z = np.random.default_rng(seed).standard_normal((n, x_obs.shape[0], len(WIDTH)))
        draws = np.concatenate(
            [loc + self.loc_sd * WIDTH * z, np.broadcast_to(spread, z.shape)], axis=-1
        )
        box = POPULATION.hyper_bounds
        return np.clip(draws, box[:, 0], box[:, 1])

    def sample_loops(
        self,
        x_loop: np.ndarray,
        psi: np.ndarray,
        *,
        seed: int,
        threads: int | None = None,
        columns: np.ndarray | None = None,
    ) -> np.ndarray:
        rng = np.random.default_rng(seed)
        draws = POPULATION.sample_loops(psi, len(x_loop), rng)
        return draws.reshape(len(psi), len(x_loop), -1)


def population_pack(
    loc: np.ndarray, spread: np.ndarray, n: int, *, seed: int, pack: str, bpm: float = 126.0
) -> tuple[ClipBatch, np.ndarray]:
    """``n`` clips whose knobs are drawn from the population (loc, spread); returns the clips
    (metadata ``pack`` and ``clip_id``) and their knobs (n, K)."""
    rng = np.random.default_rng(seed)
    theta = POPULATION.sample_loops(np.concatenate([loc, spread])[None], n, rng)
    clips = simulate(theta, seed=seed, bpm=np.full(n, bpm))
    meta = pd.DataFrame({"pack": pack, "clip_id": [f"{pack}/{i:03d}" for i in range(n)]})
    return ClipBatch(clips.velocity, clips.offset, clips.bpm, meta), theta
