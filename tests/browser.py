"""Real headless Chromium for the browser tests, through Playwright's Python package.

The browser is the system's Chromium (``apt-get install chromium``; ``make system-deps``), given
to Playwright as ``executable_path``: Playwright's own browser downloads are never used. Tests
that need it skip, saying why, where no Chromium is installed. :func:`watch_page` opens a page
that records console errors and every request leaving the allowed origins (and blocks it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Request, Route, sync_playwright

LAUNCH_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--mute-audio",
]


def find_chromium() -> str | None:
    """The Chromium binary: ``$CHROMIUM_BIN``, ``/usr/bin/chromium``, or ``chromium`` on ``PATH``."""
    explicit = os.environ.get("CHROMIUM_BIN")
    if explicit:
        return explicit if Path(explicit).exists() else None
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


CHROMIUM = find_chromium()
requires_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium binary (apt-get install chromium, or set CHROMIUM_BIN): needs a real browser"
)


@contextmanager
def launch_chromium() -> Iterator[Browser]:
    """The system's Chromium, headless, driven by Playwright."""
    assert CHROMIUM is not None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class WatchedPage:
    """A page with what it reported: console errors, uncaught exceptions and requests that left the site."""

    page: Page
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)


@contextmanager
def watch_page(
    browser: Browser, allowed: tuple[str, ...] = ("file://",), **context_args: object
) -> Iterator[WatchedPage]:
    """A fresh page (own context) whose requests outside ``allowed`` URL prefixes are recorded and aborted."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **context_args)
    page = context.new_page()
    watched = WatchedPage(page)

    def on_console(message: object) -> None:
        if getattr(message, "type", "") == "error":
            watched.console_errors.append(str(getattr(message, "text", message)))

    def on_request(request: Request) -> None:
        watched.requests.append(request.url)
        if not request.url.startswith(allowed) and not request.url.startswith(("data:", "blob:", "about:")):
            watched.outside_requests.append(request.url)

    def route(route: Route) -> None:
        url = route.request.url
        if url.startswith(allowed) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            route.abort()

    page.on("console", on_console)
    page.on("pageerror", lambda error: watched.console_errors.append(f"uncaught: {error}"))
    page.on("request", on_request)
    context.route("**/*", route)
    try:
        yield watched
    finally:
        context.close()
