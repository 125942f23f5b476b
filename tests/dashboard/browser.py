"""What the browser tests share: where Chromium is, the registry under test, signing in.

Playwright's own browser download is not reachable here, so it drives the
system's Chromium through `executable_path`. Without it the tests skip with
the reason, and fail under CI=true (.ci/run installs it: `make chromium`).
"""

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, ViewportSize

from tests.test_serve_process import MODELREG, wait_until_ready

CHROMIUM = Path(os.environ.get("MODELREG_TEST_CHROMIUM", "/usr/bin/chromium"))
# Screenshots and measurements of a test run (git-ignored).
ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts" / "dashboard"
DESKTOP = ViewportSize(width=1280, height=800)
NARROW = ViewportSize(width=390, height=844)
# Playwright waits this long (ms) for what a page should show; generous for a loaded CI machine.
PATIENCE_MS = 15_000


def chromium_path() -> Path:
    """Debian's Chromium, or a skip (a failure under CI) saying how to get it."""
    if CHROMIUM.exists():
        return CHROMIUM
    message = f"the dashboard's browser tests need Chromium at {CHROMIUM}: run `make chromium`"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@dataclass
class Registry:
    """A `modelreg serve` process (stopped and started again on the same port) and its tokens."""

    env: dict[str, str]
    port: int
    tokens: dict[str, str] = field(default_factory=dict)
    process: "subprocess.Popen[bytes] | None" = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [MODELREG, "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_ready(self.process, f"{self.base}/readyz")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None

    def gql(self, role: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        """Run an operation as `role` that must succeed; return its `data`."""
        body = self.post(self.tokens[role], query, variables).json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def post(
        self, token: str, query: str, variables: dict[str, Any] | None = None
    ) -> httpx.Response:
        return httpx.post(
            f"{self.base}/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"authorization": f"Bearer {token}"},
            timeout=30,
        )

    def make_token(self, name: str, role: str, expires_in: str | None = None) -> str:
        made = self.gql(
            "admin",
            "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token } }",
            {"input": {"name": name, "role": role.upper(), "expiresIn": expires_in}},
        )
        token: str = made["createApiToken"]["token"]
        return token

    def register(self, model: str, **fields: Any) -> int:
        made = self.gql(
            "admin",
            "mutation($input: CreateModelVersionInput!) {"
            " createModelVersion(input: $input) { modelVersion { version } } }",
            {"input": {"modelName": model, "source": f"s3://models/{model}", **fields}},
        )
        version: int = made["createModelVersion"]["modelVersion"]["version"]
        return version


def sign_in(page: Page, registry: Registry, token: str, path: str = "") -> None:
    """Open the dashboard (at `path`, e.g. `#/approvals`) and sign in with `token`."""
    page.goto(f"{registry.base}/{path}")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#who").filter(has_text="·").wait_for()


def wait_live(page: Page) -> None:
    """The page's subscription is acknowledged: what happens from now on, it hears."""
    page.locator("#live.live-live").wait_for()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
