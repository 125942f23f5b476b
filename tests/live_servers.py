"""Real `modelreg serve` processes for the live tests, and a client of each."""

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

import httpx

from storage.database import Database
from tests.conftest import TEST_SECRET_KEY, open_production_gate, tester_token
from tests.graphql import GraphQLClient
from tests.test_serve_process import MODELREG, free_port, wait_until_ready

# Revocations seen at once by every process, token checks and pings often, small queues.
LIVE_TEST_SETTINGS = {
    "MODELREG_AUTH_CACHE_SECONDS": "0",
    "MODELREG_LIVE_TOKEN_CHECK_SECONDS": "0.2",
    "MODELREG_LIVE_PING_INTERVAL_SECONDS": "0.5",
    "MODELREG_LIVE_QUEUE_SIZE": "8",
    "MODELREG_LIVE_SUBSCRIPTIONS_PER_CONNECTION": "5",
}


@dataclass(frozen=True)
class Replica:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"


def live_env(database_url: str, **extra: str) -> dict[str, str]:
    key = {"MODELREG_SECRET_KEY": TEST_SECRET_KEY} if "postgresql" in database_url else {}
    return {
        **os.environ,
        **LIVE_TEST_SETTINGS,
        "MODELREG_DATABASE_URL": database_url,
        "MODELREG_LOG_FORMAT": "json",
        **key,
        **extra,
    }


@contextmanager
def serving_process(env: dict[str, str], workers: int = 1, port: int = 0) -> Iterator[Replica]:
    """`modelreg serve` on `port` (0: a free one), stopped on exit."""
    port = port or free_port()
    command = [MODELREG, "serve", "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until_ready(process, f"http://127.0.0.1:{port}/readyz")
        yield Replica(port, process)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


@asynccontextmanager
async def replicas(
    db: Database, count: int = 1, workers: int = 1, **extra: str
) -> AsyncIterator[tuple[list[Replica], GraphQLClient]]:
    """`count` servers on `db`'s database and an admin client of the first one."""
    name, token = await tester_token(db)
    await open_production_gate(db)
    env = live_env(db.url, **extra)
    started: list[Replica] = []
    contexts = [serving_process(env, workers) for _ in range(count)]
    try:
        for context in contexts:
            started.append(await asyncio.to_thread(context.__enter__))
        async with httpx.AsyncClient(base_url=started[0].base, timeout=30) as http:
            yield started, GraphQLClient(http, token, name)
    finally:
        for context in contexts[: len(started)]:
            await asyncio.to_thread(context.__exit__, None, None, None)
