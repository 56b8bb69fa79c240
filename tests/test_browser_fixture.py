"""The shared headless-browser fixture works offline on a local page."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_a_local_page_renders_without_errors_or_network(open_page, tmp_path):
    page_file = tmp_path / "index.html"
    page_file.write_text(
        "<!doctype html><html><head><title>fixture</title></head>"
        "<body><h1>hello</h1><script>console.log('fine')</script></body></html>",
        encoding="utf-8",
    )
    page, log = open_page(page_file.as_uri())
    assert page.title() == "fixture" and page.inner_text("h1") == "hello"
    assert log.console_errors == [] and log.page_errors == []
    assert all(url.startswith("file://") for url in log.requests)
    page.evaluate("console.error('boom')")
    assert log.console_errors == ["boom"]  # errors are recorded, so tests can assert on them
