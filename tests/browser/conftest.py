"""Browser tests: Playwright driving Debian's Chromium against the emulator stack (Hosting
on its port, the `admin` function behind it). The browser comes from the Debian package
`chromium-headless-shell`, which devstack/setup.py installs; Playwright never downloads one."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM_CANDIDATES = (
    "/usr/lib/chromium/chromium-headless-shell",
    "/usr/bin/chromium-headless-shell",
    "/usr/lib/chromium/chromium",
    "/usr/bin/chromium",
)
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "admin"


def chromium_path() -> str:
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).exists() or shutil.which(candidate):
            return candidate
    pytest.fail("Chromium not found: run `python3 devstack/setup.py` (installs it with apt)")


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path())
        yield browser
        browser.close()


@pytest.fixture
def screenshots() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT
