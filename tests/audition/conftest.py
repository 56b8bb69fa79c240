"""The audition app served from a thread, with and without a fit of two known packs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("fastapi", reason="the audition extra (fastapi, uvicorn) is not installed")


def _oracle_module():
    """tests/generation/population_oracle.py (the known-answer population estimator)."""
    path = Path(__file__).resolve().parents[1] / "generation" / "population_oracle.py"
    spec = importlib.util.spec_from_file_location("population_oracle_for_audition", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def oracle_module():
    """The known-answer population estimator and its packs (population_oracle.py)."""
    return _oracle_module()


@pytest.fixture(scope="session")
def fit_dir(tmp_path_factory):
    """A fit folder of two packs (``edge``, ``steady``) made by the population oracle."""
    from technorhythm.clips import ClipBatch
    from technorhythm.posteriors import fit_groups, save_fit

    oracle = _oracle_module()
    edge, _ = oracle.population_pack(*oracle.EDGE, 12, seed=1, pack="edge")
    steady, _ = oracle.population_pack(*oracle.STEADY, 16, seed=2, pack="steady")
    both = ClipBatch.concat([edge, steady])
    meta = pd.concat([edge.meta, steady.meta], ignore_index=True)
    clips = ClipBatch(both.velocity, both.offset, both.bpm, meta)
    result = fit_groups(
        clips,
        estimator=oracle.PopulationOracle([oracle.EDGE, oracle.STEADY]),
        by="pack",
        n_samples=200,
        seed=0,
        velocities="network",  # the oracle answers for every knob
        timing="network",
        onsets="network",
        kicks="network",
    )
    out = tmp_path_factory.mktemp("fit") / "fit"
    save_fit(result, out, forest=False)
    return out


@pytest.fixture(scope="session")
def server(fit_dir):
    """Base URL of the app with the fit's packs."""
    from technorhythm.audition import create_app, serving
    from technorhythm.generation import load_packs

    with serving(create_app(load_packs(fit_dir), fit_dir=fit_dir)) as base:
        yield base


@pytest.fixture(scope="session")
def bare_server():
    """Base URL of the app without a fit."""
    from technorhythm.audition import create_app, serving

    with serving(create_app()) as base:
        yield base
