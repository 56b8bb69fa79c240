"""The version hash a trained model is tied to: prior (knob registry), simulator, summaries.

A posterior estimator is only valid for the exact prior, simulator and summary
definitions it was trained with. :func:`current_versions` collects the three
identifiers; :func:`version_hash` folds them into one short string that the
model manifest records and :func:`technorhythm.inference.PosteriorEstimator.load`
checks.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["current_versions", "version_hash", "diff_versions"]

_COMPONENTS: tuple[str, ...] = ("registry_hash", "simulator_version", "summaries_hash")


def current_versions() -> dict[str, Any]:
    """Identifiers of the installed prior, simulator and summaries.

    Returns
    -------
    dict
        ``registry_hash`` (knob registry), ``simulator_version`` (the simulator's version
        constant), ``summaries_hash`` and ``summary_names`` (the set summaries), and
        ``version_hash`` combining the three identifiers.
    """
    from technorhythm.simulator import SIMULATOR_VERSION
    from technorhythm.simulator.knobs import registry_hash
    from technorhythm.summaries import SUMMARY_NAMES, summaries_hash

    versions: dict[str, Any] = {
        "registry_hash": registry_hash(),
        "simulator_version": str(SIMULATOR_VERSION),
        "summaries_hash": summaries_hash(),
        "summary_names": list(SUMMARY_NAMES),
    }
    versions["version_hash"] = _combine(versions)
    return versions


def _combine(versions: dict[str, Any]) -> str:
    blob = json.dumps({k: versions[k] for k in _COMPONENTS}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def version_hash() -> str:
    """One 16-hex-digit hash of registry hash, simulator version and summaries hash."""
    return current_versions()["version_hash"]


def diff_versions(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Human-readable lines for every component that differs between two version records."""
    lines = []
    for key in _COMPONENTS:
        if recorded.get(key) != current.get(key):
            lines.append(f"{key}: model {recorded.get(key)!r}, installed {current.get(key)!r}")
    return lines
