"""What a request to the audition app asks for: :class:`LoopRequest`, read from a query string.

A loop is named by its knobs (query parameters named after the registry's knobs; missing
knobs take their defaults), the pattern ``seed``, the tempo ``bpm`` and the length ``bars``.
Every value is checked; a bad one raises :class:`RequestError` with a message written for
people (the registry's own message for knobs), which the app turns into a 4xx response.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from technorhythm.simulator.knobs import KNOB_NAMES, KnobError, get_knob

__all__ = [
    "BARS_RANGE",
    "BPM_RANGE",
    "CONTROLS",
    "LoopRequest",
    "RequestError",
    "parse_integer",
    "parse_loop",
]

CONTROLS: tuple[str, ...] = ("seed", "bpm", "bars")
"""Query parameters besides the knobs."""
BPM_RANGE = (20.0, 400.0)
BARS_RANGE = (1, 16)
SEED_MAX = 2**63 - 1
DEFAULT_BPM = 128.0


class RequestError(ValueError):
    """A request the app cannot serve; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class LoopRequest:
    """One loop: knob values (registry order), pattern seed, tempo (bpm), length (bars)."""

    theta: tuple[float, ...]
    seed: int
    bpm: float
    bars: int

    def theta_dict(self) -> dict[str, float]:
        return dict(zip(KNOB_NAMES, self.theta, strict=True))

    def query(self) -> str:
        """The canonical query string: every knob, then seed, bpm and bars."""
        pairs = [(n, repr(v)) for n, v in zip(KNOB_NAMES, self.theta, strict=True)]
        pairs += [("seed", str(self.seed)), ("bpm", repr(self.bpm)), ("bars", str(self.bars))]
        return urlencode(pairs)


def parse_integer(name: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise RequestError(f"{name} must be an integer in [{low}, {high}]; got {text!r}") from None
    if not low <= value <= high:
        raise RequestError(f"{name} must be an integer in [{low}, {high}]; got {text!r}")
    return value


def _bpm(text: str) -> float:
    low, high = BPM_RANGE
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and low <= value <= high):
        raise RequestError(f"bpm must be a number in [{low:g}, {high:g}]; got {text!r}")
    return value


def parse_loop(items: Iterable[tuple[str, str]]) -> LoopRequest:
    """A :class:`LoopRequest` from query ``(name, value)`` pairs.

    Raises :class:`RequestError` for unknown names, repeated names, and values out of range
    or not numbers (NaN and infinities included).
    """
    seen: dict[str, str] = {}
    for name, value in items:
        if name in seen:
            raise RequestError(f"{name!r} is given more than once")
        seen[name] = value
    theta = {}
    for name, value in seen.items():
        if name in CONTROLS:
            continue
        try:
            knob = get_knob(name)
            theta[name] = knob.check(_number(value))
        except KnobError as err:
            raise RequestError(str(err)) from None
    values = tuple(theta.get(n, get_knob(n).default) for n in KNOB_NAMES)
    seed = parse_integer("seed", seen.get("seed", "0"), 0, SEED_MAX)
    bpm = _bpm(seen.get("bpm", str(DEFAULT_BPM)))
    bars = parse_integer("bars", seen.get("bars", "4"), *BARS_RANGE)
    return LoopRequest(values, seed, bpm, bars)


def _number(text: str) -> float | str:
    """A float when ``text`` parses as one (``nan``/``inf`` included, for the registry to
    reject with its range), else the text itself."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return text
