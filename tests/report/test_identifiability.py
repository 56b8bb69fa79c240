"""Identifiability status and the knobs' prior sd."""

from __future__ import annotations

import numpy as np
import pytest

from technorhythm.inference.population import Population
from technorhythm.report.identifiability import IDENTIFIED_AT, PRIOR_DOMINATED_BELOW, classify
from technorhythm.report.inputs import mean_prior_sd


def test_thresholds():
    c = [1.0, IDENTIFIED_AT, IDENTIFIED_AT - 1e-9, PRIOR_DOMINATED_BELOW, 0.49, -0.2, np.nan]
    assert classify(c) == [
        "identified",
        "identified",
        "weak",
        "weak",
        "prior-dominated",
        "prior-dominated",
        "prior-dominated",
    ]


def test_prior_sd_of_the_mean_value_scales_with_the_knob_range():
    pop = Population(np.array([[0.0, 1.0], [0.0, 8.0], [-30.0, 30.0]]), ("a", "b", "c"))
    sd = mean_prior_sd(pop, n=40000)
    # the hyperprior is the same box in units of the range, so sd / range is one constant
    assert sd / np.array([1.0, 8.0, 60.0]) == pytest.approx(np.full(3, sd[0]), rel=0.03)
    # E[θ] lies in the range and piles up at the bounds: between a uniform's sd and a
    # fair coin on the bounds' sd
    assert 1 / np.sqrt(12) < sd[0] < 0.5
