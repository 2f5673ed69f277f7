"""Debian's Chromium, driven by Playwright, for the tests that open a report in a browser."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from analysis.publish.pdf import CHROMIUM_ARGS as _REPORT_ARGS

CHROMIUM = Path("/usr/bin/chromium")
#: The flags the project starts Chromium with (headless, no background traffic: this machine's
#: network is closed), without the PDF printer's own.
CHROMIUM_ARGS = [a for a in _REPORT_ARGS if a != "--no-pdf-header-footer"]


def require_chromium() -> None:
    """Skip when Chromium is missing on a developer's machine; in CI (.ci/run installs it) the
    test runs and fails instead."""
    if not CHROMIUM.exists() and not os.environ.get("CI"):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")


@contextlib.contextmanager
def chromium_context(profile: Path, **options) -> Iterator:
    """A Playwright browser context in Chromium with a fresh ``--user-data-dir`` (``profile``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            **options,
        )
        try:
            yield context
        finally:
            context.close()
