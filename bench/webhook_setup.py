"""Processes and API calls shared by the webhook benchmarks.

Every process runs in its own session (process group) and is stopped with its
group when its `with` block ends, also on failure, so no receiver, server or
worker outlives the run and skews the next measurement.
"""

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.config import REPO_ROOT
from bench.receiver import Receipt
from bench.server_process import free_port, running_server, stop_process_group
from bench.token import MODELREG, auth_headers, create_admin_token

STARTUP_TIMEOUT_S = 60.0
POLL_S = 0.02

CREATE_VERSION = """
mutation($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) { modelVersion { version } }
}"""
CREATE_WEBHOOK = """
mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } } }"""


def registry_env(database: Path, **settings: str) -> dict[str, str]:
    """Environment of a `modelreg` process on `database`; loopback receivers are allowed."""
    return {
        **os.environ,
        "MODELREG_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "MODELREG_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        **settings,
    }


def create_database(env: dict[str, str]) -> None:
    """Migrate the database of `env` and put an admin token for it in `env` (MODELREG_TOKEN)."""
    done = subprocess.run(
        [MODELREG, "db", "upgrade"], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"modelreg db upgrade failed:\n{done.stderr}")
    env["MODELREG_TOKEN"] = create_admin_token(env)


def api_client(base_url: str, env: dict[str, str]) -> httpx.AsyncClient:
    """A client of the registry of `env`, with its admin token."""
    return httpx.AsyncClient(
        base_url=base_url, timeout=30.0, headers=auth_headers(env["MODELREG_TOKEN"])
    )


@contextmanager
def serve(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """`modelreg serve` (one process, as configured by `env`); yields its base URL."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [str(MODELREG), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with running_server(command, env, f"{base_url}/healthz", log_path, STARTUP_TIMEOUT_S):
        yield base_url


@contextmanager
def workers(env: dict[str, str], count: int, log_path: Path) -> Iterator[None]:
    """`count` `modelreg worker` processes; they have no port, so nothing to wait for."""
    with ExitStack() as stack, log_path.open("ab") as log:
        for _ in range(count):
            process = subprocess.Popen(
                [MODELREG, "worker"], env=env, stdout=log, stderr=log, start_new_session=True
            )
            stack.callback(stop_process_group, process)
        yield


@dataclass
class Receiver:
    """Client side of a `bench.receiver` process."""

    ports: list[int]
    _http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30.0))

    def url(self, endpoint: int) -> str:
        return f"http://127.0.0.1:{self.ports[endpoint]}/hook"

    def count(self) -> int:
        return int(self._http.get(f"http://127.0.0.1:{self.ports[0]}/__count").text)

    def receipts(self) -> list[Receipt]:
        response = self._http.get(f"http://127.0.0.1:{self.ports[0]}/__receipts")
        return [Receipt(*row) for row in orjson.loads(response.content)]

    def close(self) -> None:
        self._http.close()

    def reset(self) -> None:
        self._http.post(f"http://127.0.0.1:{self.ports[0]}/__reset").raise_for_status()

    def wait_for(self, count: int, timeout_s: float) -> bool:
        """Poll until `count` requests arrived; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while self.count() < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(POLL_S)
        return True


@contextmanager
def receiver(endpoints: int, log_path: Path) -> Iterator[Receiver]:
    """A receiver process with `endpoints` ports of its own choosing (bound to port 0)."""
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.receiver", str(endpoints)],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,
        )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()  # b"" if it died before binding
        if not first_line:
            raise RuntimeError(f"receiver exited with {process.wait()}; see {log_path}")
        handle = Receiver(ports=list(orjson.loads(first_line)))
        try:
            yield handle
        finally:
            handle.close()
    finally:
        stop_process_group(process)


async def graphql(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"GraphQL request failed ({response.status_code}): {body}")
    return body["data"]


async def subscribe(client: httpx.AsyncClient, urls: list[str], events: list[str]) -> None:
    for url in urls:
        await graphql(client, CREATE_WEBHOOK, {"input": {"url": url, "events": events}})


async def create_versions(
    client: httpx.AsyncClient, models: list[str], parallel: int
) -> list[tuple[str, int]]:
    """One version per entry of `models`, `parallel` at a time; returns (model, version)s."""
    gate = asyncio.Semaphore(parallel)

    async def one(i: int, model: str) -> tuple[str, int]:
        async with gate:
            payload = {"modelName": model, "source": f"s3://bench/{i}"}
            data = await graphql(client, CREATE_VERSION, {"input": payload})
        return model, int(data["createModelVersion"]["modelVersion"]["version"])

    return list(await asyncio.gather(*(one(i, m) for i, m in enumerate(models))))
