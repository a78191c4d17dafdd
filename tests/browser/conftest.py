"""Headless Chromium for browser tests: Debian's chromium driven by the PyPI playwright package.

Playwright's own browser download is not used; ``CHROMIUM`` points at the system browser. Tests that use
these fixtures are marked ``browser`` and fail with a clear message where no such browser is installed
(``apt-get install chromium fonts-noto-cjk``, as ``.ci/run`` does; ``make test-fast`` leaves them out).
"""

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from pytest_django import DjangoDbBlocker

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"No Chromium at {CHROMIUM}: apt-get install chromium fonts-noto-cjk, or set CHROMIUM to its path, "
            "or run `make test-fast` to leave the browser tests out."
        )
    # Playwright's sync API leaves an asyncio event loop running in this thread. Under a running loop,
    # Django refuses ORM calls (hence DJANGO_ALLOW_ASYNC_UNSAFE) and keeps a second, empty set of
    # connection objects; the tests must go on using those the test database was set up on, which carry
    # its state (among it the contents that serialized_rollback restores).
    with django_db_blocker.unblock():
        test_connections = {alias: connections[alias] for alias in connections}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            for alias, connection in test_connections.items():
                connections[alias] = connection
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Open browser contexts (a fresh profile each: cookies, locale, viewport), closed after the test."""
    contexts: list[BrowserContext] = []

    def make(**options: object) -> BrowserContext:
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    """Save a full-page screenshot under artifacts/screenshots/ and return its path."""

    def save(page: Page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
