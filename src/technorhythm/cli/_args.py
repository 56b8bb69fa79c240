"""Argument types and option groups shared by several subcommands."""

from __future__ import annotations

import argparse

from technorhythm.threads import available_cores

__all__ = ["int_at_least", "add_check_options", "default_threads"]


def int_at_least(low: int):
    """An argparse type: an integer ``>= low``, with a message that names the problem."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer; got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}; got {text!r}")
        return value

    return parse


def default_threads(cap: int = 4) -> int:
    """The CPUs this process may run on, at most ``cap`` (a default for ``--threads``)."""
    return max(1, min(int(cap), available_cores()))


def add_check_options(p: argparse.ArgumentParser) -> None:
    """Options of the posterior predictive checks, shared by ``check`` and ``fit``."""
    p.add_argument(
        "--n-predictive",
        type=int_at_least(10),
        default=256,
        help="clips in the posterior and prior predictive sets, at least (default 256)",
    )
    p.add_argument(
        "--verdict-sets",
        type=int_at_least(20),
        default=100,
        help="predictive sets for the misspecification verdict (default 100)",
    )
    p.add_argument(
        "--alpha",
        type=float,
        default=0.05,
        help="verdict threshold: flag a group when its p-value is below (default 0.05)",
    )
