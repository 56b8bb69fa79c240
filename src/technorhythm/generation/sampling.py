"""Knob settings for generated loops: one posterior predictive draw per loop, and a spread.

Loop ``j`` of a request takes its randomness from its own streams, derived from
``(seed, group, j)`` alone (:func:`loop_streams`): a θ stream, a simulator seed and a tempo
stream. Loop ``j`` is therefore the same loop whatever the number of loops asked for, the
length in bars, the tempo option or the output format.

Its knobs θ_j are one draw from the group's predictive model (the model the posterior
predictive checks use): a ψ draw from the group's posterior, then θ_j from the population
with that ψ — the posterior predictive distribution of a new loop of the pack. For the
whole-corpus group of a fit with ``--add-all`` the draw first picks a pack, with
probability proportional to its size.

**Knobs from the pack's own loops** (``knobs="loops"``). Instead of a new loop of the
pack's population, θ_j is one posterior draw of the knobs of one of the group's own loops
(chosen at random; :class:`technorhythm.posteriors.LoopPredictive`): a variation of that
loop, which keeps its combination of knobs. The population draws knobs independently given
ψ, so its loops can combine settings no loop of the pack has; loops from the pack's own
loops come closer to the pack (docs/generation.md) and explore less beyond it.

**Spread.** ``spread`` s ≥ 0 moves every loop's knobs along the line through the posterior
mean setting θ̄ (:func:`technorhythm.generation.fitted.predictive_mean`):

    θ_j(s) = clip(θ̄ + s · (θ_j − θ̄), low, high)      (knob by knob, knob units)

s = 0 gives θ̄ for every loop (loops then differ only by the simulator's own randomness);
s = 1 is the posterior predictive itself (θ_j unchanged); s > 1 pushes each loop further
from the mean in the direction it already lies, so the loops' knob spread grows s-fold
until the knob range clips it. Because every s uses the same draws θ_j, raising s morphs
each loop continuously from the mean setting towards and beyond its posterior draw.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from technorhythm.generation.fitted import PackPosterior
from technorhythm.inference.prior import knob_bounds

__all__ = [
    "KNOB_SOURCES",
    "apply_spread",
    "check_knobs",
    "check_spread",
    "draw_theta",
    "hold_knobs",
    "loop_streams",
]

KNOB_SOURCES: tuple[str, ...] = ("population", "loops")
"""Where a generated loop's knobs come from: a new loop of the pack's population, or one
of the pack's own loops (see the module docstring)."""

_THETA, _SIMULATOR, _TEMPO = range(3)
_STREAM = 40
"""Stream number of generation in :func:`technorhythm.posteriors.group_seed`."""


def loop_streams(
    seed: int, group: str, index: int
) -> tuple[np.random.Generator, int, np.random.Generator]:
    """Randomness of loop ``index``: (θ generator, simulator seed, tempo generator)."""
    from technorhythm.posteriors import group_seed

    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    base = np.random.SeedSequence(group_seed(int(seed), group, _STREAM), spawn_key=(int(index),))
    theta_ss, sim_ss, tempo_ss = base.spawn(3)
    sim_seed = int(sim_ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
    return np.random.default_rng(theta_ss), sim_seed, np.random.default_rng(tempo_ss)


def check_spread(spread: float) -> float:
    """``spread`` as a float; raises ``ValueError`` unless it is finite and ≥ 0."""
    try:
        value = float(spread)
    except (TypeError, ValueError):
        raise ValueError(f"spread must be a number >= 0; got {spread!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(
            f"spread must be a finite number >= 0 (0 = the posterior mean setting, 1 = the "
            f"posterior, > 1 wider); got {spread!r}"
        )
    return value


def apply_spread(
    theta: np.ndarray, center: np.ndarray, spread: float, bounds: np.ndarray
) -> np.ndarray:
    """θ̄ + s · (θ − θ̄), clipped to ``bounds`` (K, 2); θ (n, K) is returned as is for s = 1."""
    s = check_spread(spread)
    theta = np.asarray(theta, dtype=np.float64)
    if s == 1.0:
        return theta.copy()
    center = np.asarray(center, dtype=np.float64)
    moved = np.broadcast_to(center, theta.shape) if s == 0.0 else center + s * (theta - center)
    return np.clip(moved, bounds[:, 0], bounds[:, 1])


def check_knobs(knobs: str) -> str:
    """``knobs`` if it is one of :data:`KNOB_SOURCES`; raises ``ValueError`` otherwise."""
    if knobs not in KNOB_SOURCES:
        raise ValueError(f"knobs must be one of {', '.join(KNOB_SOURCES)}; got {knobs!r}")
    return knobs


def draw_theta(
    pack: PackPosterior,
    n: int,
    *,
    seed: int,
    spread: float = 1.0,
    start: int = 0,
    knobs: str = "population",
) -> np.ndarray:
    """Knobs (n, K) of loops ``start … start + n − 1`` of a fitted group: one predictive draw
    each (from the population or the group's own loops, ``knobs``), moved by ``spread``
    (see the module docstring)."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"the number of loops must be a positive integer; got {n!r}")
    spread = check_spread(spread)
    if isinstance(start, bool) or not isinstance(start, int | np.integer) or start < 0:
        raise ValueError(f"start must be a non-negative integer; got {start!r}")
    model = pack.model if check_knobs(knobs) == "population" else pack.loop_model()
    rows = [
        model.draw(1, 1, loop_streams(seed, pack.group, int(start) + j)[0])[0]
        for j in range(int(n))
    ]
    return apply_spread(np.stack(rows), pack.center(), spread, knob_bounds())


def hold_knobs(theta: np.ndarray, values: Mapping[str, float]) -> np.ndarray:
    """A copy of θ (n, K) with the named knobs held at the given values in every row.

    Values are checked against the registry (:class:`technorhythm.simulator.KnobError`).
    """
    from technorhythm.simulator.knobs import KNOB_NAMES, get_knob

    out = np.array(theta, dtype=np.float64, copy=True)
    for name, value in values.items():
        out[:, KNOB_NAMES.index(get_knob(name).name)] = get_knob(name).check(value)
    return out
