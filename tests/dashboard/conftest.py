"""Fixtures of the browser tests: one `modelreg serve` and one Chromium per module."""

import os
import subprocess
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from tests.dashboard.browser import DESKTOP, PATIENCE_MS, Registry, chromium_path
from tests.test_serve_process import MODELREG, create_token, free_port

ROLES = ("reader", "writer", "maintainer")

expect.set_options(timeout=PATIENCE_MS)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """One server for a module's browser tests; revocations take effect at once."""
    database = tmp_path_factory.mktemp("dashboard") / "registry.db"
    env = {
        **os.environ,
        "MODELREG_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "MODELREG_AUTH_CACHE_SECONDS": "0",
        # A revoked token's live connection is closed within this (default 5 s).
        "MODELREG_LIVE_TOKEN_CHECK_SECONDS": "0.5",
        "MODELREG_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "MODELREG_LOG_FORMAT": "text",
    }
    subprocess.run([MODELREG, "db", "upgrade"], env=env, check=True, capture_output=True)
    _, admin = create_token(env, "admin")
    served = Registry(env, free_port(), {"admin": admin})
    try:
        served.start()
        for role in ROLES:
            served.tokens[role] = served.make_token(role.capitalize(), role)
        yield served
    finally:
        served.stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    chromium_path()
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """One Chromium for the module; each test gets a fresh context (its own sessionStorage)."""
    launched = playwright.chromium.launch(executable_path=str(chromium_path()))
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh context; an uncaught error in the dashboard's code fails the test."""
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(PATIENCE_MS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(f"{error.name}: {error.message}"))
    try:
        yield opened
    finally:
        context.close()
    assert errors == [], errors
