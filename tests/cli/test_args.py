"""Shared argument helpers of the command line."""

from __future__ import annotations

import argparse
import os

import pytest

from technorhythm.cli._args import default_threads, int_at_least


def test_default_threads_is_the_available_cpus_capped():
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert default_threads() == min(4, available)
    assert default_threads(cap=1) == 1
    assert default_threads(cap=0) == 1


def test_int_at_least_names_the_problem():
    parse = int_at_least(1)
    assert parse("3") == 3
    with pytest.raises(argparse.ArgumentTypeError, match=">= 1"):
        parse("0")
    with pytest.raises(argparse.ArgumentTypeError, match="expected an integer"):
        parse("two")
