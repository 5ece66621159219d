"""Real Chromium for the browser tests: Debian's package, driven by Playwright (its own download is not used)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    # Without these, Chromium reaches for Google's services, which this network refuses.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Block third-party cookies, as browsers increasingly do by default: an embedded CareLaunch must not need them.
BLOCK_THIRD_PARTY_COOKIES = "--test-third-party-cookie-phaseout"


@contextmanager
def chromium(*extra_args: str) -> Iterator[Any]:
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def chromium_page(*extra_args: str, **context_options: Any) -> Iterator[Any]:
    """One page in a fresh browser context (English unless `locale` says otherwise)."""
    with chromium(*extra_args) as browser:
        context = browser.new_context(**{"locale": "en-US", **context_options})
        page = context.new_page()
        page.set_default_timeout(20_000)
        try:
            yield page
        finally:
            context.close()
