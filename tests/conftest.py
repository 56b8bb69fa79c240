"""Shared fixtures: the Groove corpus, a default random generator and a headless browser."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

_DEFAULT_GROOVE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "groove"


def groove_dir() -> Path | None:
    """The Groove MIDI Dataset folder, or None when it is not on this machine."""
    path = Path(os.environ.get("TECHNORHYTHM_GROOVE_DIR", _DEFAULT_GROOVE))
    return path if (path / "info.csv").is_file() else None


@pytest.fixture(scope="session")
def groove() -> Path:
    """Path of the Groove corpus; skips the test with a reason when it is absent."""
    path = groove_dir()
    if path is None:
        pytest.skip(
            "Groove MIDI Dataset not found at ../shared/data/groove; "
            "set TECHNORHYTHM_GROOVE_DIR to run the data tests"
        )
    return path


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
"""Flags for a closed network: without the background-networking ones chromium keeps
trying to reach Google's hosts."""


def chromium_path() -> str | None:
    """The system chromium (Debian's package), or $TECHNORHYTHM_CHROMIUM; None if absent."""
    explicit = os.environ.get("TECHNORHYTHM_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser():
    """A headless chromium driven by playwright; skips with a reason when it is missing."""
    path = chromium_path()
    if path is None:
        pytest.skip("chromium not found (apt-get install chromium, or set TECHNORHYTHM_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=path, args=list(CHROMIUM_FLAGS))
        yield instance
        instance.close()


@dataclass
class PageLog:
    """What a page did: console errors, page errors and every URL it requested."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def open_page(browser):
    """``open_page(url) -> (page, log)``: a fresh page that records errors and requests."""
    contexts = []

    def _open(url: str, **goto):
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        log = PageLog()
        page.on(
            "console", lambda m: log.console_errors.append(m.text) if m.type == "error" else None
        )
        page.on("pageerror", lambda e: log.page_errors.append(str(e)))
        page.on("request", lambda r: log.requests.append(r.url))
        page.goto(url, **goto)
        return page, log

    yield _open
    for context in contexts:
        context.close()
