"""Fixtures for the inference tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def fixed_versions(monkeypatch):
    """Pin the version record so toy-model persistence tests do not depend on B/C's code.

    The returned dict is live: a test may change it to mimic installed code moving on.
    """
    from technorhythm.inference import persistence

    versions = {
        "registry_hash": "r" * 16,
        "simulator_version": "toy-1",
        "summaries_hash": "s" * 16,
        "summary_names": ["ybar_a", "ybar_b"],
    }
    versions["version_hash"] = "v" * 16

    def fake():
        return dict(versions)

    monkeypatch.setattr(persistence, "current_versions", fake)
    return versions
