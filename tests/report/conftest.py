"""Fixtures of the report tests: the demo corpus fitted with a known posterior, checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from known_estimator import MANIFEST, KnownEstimator


@pytest.fixture(scope="session")
def demo_dataset(tmp_path_factory) -> Path:
    from technorhythm.corpus import ingest
    from technorhythm.corpus.demo_corpus import render_demo_corpus

    root = tmp_path_factory.mktemp("demo")
    render_demo_corpus(root / "midi")
    ingest(root / "midi", root / "dataset", progress=False)
    return root / "dataset"


@pytest.fixture(scope="session")
def known_model_dir(tmp_path_factory) -> Path:
    """A model folder whose manifest is the known estimator's (no validation record)."""
    folder = tmp_path_factory.mktemp("model")
    (folder / "manifest.json").write_text(json.dumps(MANIFEST), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def fit_dir(demo_dataset, tmp_path_factory) -> Path:
    """The demo corpus fitted by pack plus 'all' with the known estimator, and checked."""
    from technorhythm.posteriors import check_fit, fit_groups, save_checks, save_fit

    out = tmp_path_factory.mktemp("fit") / "fit"
    result = fit_groups(
        demo_dataset,
        estimator=KnownEstimator(),
        by="pack",
        add_all=True,
        n_samples=200,
        velocities="network",  # the known answer for every knob
        timing="network",
        onsets="network",
        kicks="network",
    )
    save_fit(result, out, dataset=str(demo_dataset))
    checks = check_fit(result, demo_dataset, n_predictive=64, n_verdict_sets=20)
    save_checks(checks, out / "check")
    return out


@pytest.fixture(scope="session")
def inputs(fit_dir, known_model_dir):
    """The report's inputs read from the known fit."""
    from technorhythm.report.inputs import load_inputs

    return load_inputs(fit_dir, model_dir=known_model_dir, run_checks=False)
