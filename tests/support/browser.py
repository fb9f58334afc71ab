"""A real headless Chromium for the page tests, driven by Playwright's async API.

The system's Chromium is used (no browser download): Playwright's pinned build may be a few
versions ahead, which has not mattered for anything the tests do."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, async_playwright

from tests.support.servers import ServerUnavailable

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS_DIR = REPO_ROOT / "test-artifacts" / "screenshots"


def find_chromium() -> str:
    """`$CHROMIUM` if set, else /usr/bin/chromium, else a Chromium or Chrome on PATH."""
    configured = os.environ.get("CHROMIUM")
    if configured:
        return configured
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    raise ServerUnavailable("no Chromium found: install the `chromium` package")


@asynccontextmanager
async def launch_browser() -> AsyncIterator[Browser]:
    """A headless Chromium, closed (with Playwright's driver) on exit."""
    executable = find_chromium()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


def screenshots_dir() -> Path:
    """test-artifacts/screenshots/ under the repository root, created if missing."""
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS_DIR
