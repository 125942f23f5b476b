"""Crash safety with real processes: `modelreg serve` killed with SIGKILL, `modelreg worker`.

Zero events lost; any event delivered twice carries the same `webhook-id`.
"""

import asyncio
import os
import signal
import subprocess
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import orjson
import pytest

from server.settings import Settings
from storage.database import Database
from tests.conftest import TEST_SECRET_KEY, serving
from tests.graphql import CREATE_VERSION, GraphQLClient
from tests.receiver import Received, Receiver, Reply
from tests.test_serve_process import MODELREG, create_token, free_port, wait_until_ready
from tests.webhook_client import CREATE_WEBHOOK, create_webhook, eventually, webhook_log

# Short attempts and leases, so a killed dispatcher's claims expire within the test.
FAST = {
    "MODELREG_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
    "MODELREG_WEBHOOK_TIMEOUT_SECONDS": "1",
    "MODELREG_WEBHOOK_LEASE_SECONDS": "3",
    "MODELREG_WEBHOOK_RETRY_SCHEDULE": "[0.1, 0.1, 0.1, 0.1, 0.1]",
    "MODELREG_WEBHOOK_POLL_INTERVAL_SECONDS": "0.1",
}


def _env(database_url: str, **extra: str) -> dict[str, str]:
    # On PostgreSQL, the key the in-process apps of `serving` seal secrets with.
    key = {"MODELREG_SECRET_KEY": TEST_SECRET_KEY} if "postgresql" in database_url else {}
    return {**os.environ, **FAST, "MODELREG_DATABASE_URL": database_url, **key, **extra}


@contextmanager
def running(command: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [MODELREG, *command], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


@asynccontextmanager
async def served(env: dict[str, str]) -> AsyncIterator[tuple[GraphQLClient, int]]:
    """A real `modelreg serve` process and a client for it; yields (client, pid)."""
    port = free_port()
    name, token = await asyncio.to_thread(create_token, env)
    with running(["serve", "--port", str(port)], env) as process:
        base = f"http://127.0.0.1:{port}"
        await asyncio.to_thread(wait_until_ready, process, f"{base}/readyz")
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            yield GraphQLClient(http, token, name), process.pid


def _version_key(received: Received) -> tuple[str, int] | None:
    event = orjson.loads(received.body)
    if event["type"] != "model_version.created":
        return None
    version = event["data"]["modelVersion"]
    return version["modelName"], version["version"]


def _by_version(received: list[Received]) -> dict[tuple[str, int], set[str]]:
    """The webhook-ids each registered version arrived with."""
    ids: dict[tuple[str, int], set[str]] = defaultdict(set)
    for r in received:
        key = _version_key(r)
        if key is not None:
            ids[key].add(r.headers["webhook-id"])
    return ids


async def _register(api: GraphQLClient, model: str) -> tuple[str, int]:
    payload = {"modelName": model, "source": "s3://m"}
    data = await api.data(CREATE_VERSION, {"input": payload})
    return model, data["createModelVersion"]["modelVersion"]["version"]


@pytest.fixture
def sqlite_file(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'crash.db'}"
    subprocess.run(
        [MODELREG, "db", "upgrade"], env=_env(url), check=True, capture_output=True, timeout=60
    )
    return url


async def test_events_committed_without_a_dispatcher_are_delivered_by_a_worker(
    sqlite_file: str, receiver: Receiver
) -> None:
    async with served(_env(sqlite_file, MODELREG_WEBHOOK_DISPATCHER="false")) as (api, _):
        await api.data(CREATE_WEBHOOK, {"input": {"url": receiver.url(), "events": ["*"]}})
        registered = [await _register(api, f"m{i % 5}") for i in range(40)]
    assert receiver.received == []  # nobody was delivering

    with running(["worker"], _env(sqlite_file)):
        await receiver.wait_for(lambda r: set(_by_version(r)) >= set(registered), 30)
    assert all(len(ids) == 1 for ids in _by_version(receiver.received).values())


async def test_serve_killed_mid_burst_loses_no_event(sqlite_file: str, receiver: Receiver) -> None:
    # A slow endpoint, so deliveries are queued and in flight when the process dies.
    url = receiver.script("/slow", Reply(200, delay=0.05))
    acknowledged: list[tuple[str, int]] = []
    enough = asyncio.Event()
    async with served(_env(sqlite_file)) as (api, pid):
        await api.data(CREATE_WEBHOOK, {"input": {"url": url, "events": ["model_version.*"]}})

        async def burst(worker: int) -> None:
            for i in range(1000):
                try:
                    acknowledged.append(await _register(api, f"m{(worker + i) % 7}"))
                    if len(acknowledged) >= 150:
                        enough.set()
                except (httpx.TransportError, AssertionError):
                    return

        tasks = [asyncio.create_task(burst(w)) for w in range(8)]
        await receiver.wait_for(lambda r: len(r) >= 20, 30)
        async with asyncio.timeout(60):
            await enough.wait()
        os.kill(pid, signal.SIGKILL)
        await asyncio.gather(*tasks)
    delivered_before_restart = len(receiver.received)
    assert delivered_before_restart < len(acknowledged)  # the kill left work behind

    async with served(_env(sqlite_file)):
        await receiver.wait_for(lambda r: set(_by_version(r)) >= set(acknowledged), 60)
    by_version = _by_version(receiver.received)
    # At least once: duplicates (a delivery in flight at the kill) keep their webhook-id.
    assert all(len(ids) == 1 for ids in by_version.values())
    # Per model, versions arrived in order (first arrivals).
    first_seen: dict[str, list[int]] = defaultdict(list)
    for r in receiver.received:
        key = _version_key(r)
        if key is not None and key[1] not in first_seen[key[0]]:
            first_seen[key[0]].append(key[1])
    assert all(seen == sorted(seen) for seen in first_seen.values())


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_two_workers_on_postgresql_deliver_each_event_once(
    backend: str, database_url: str, db: Database, receiver: Receiver
) -> None:
    settings = Settings(webhook_dispatcher=False, webhook_allow_private_networks=True)
    async with serving(db, settings) as api:
        await api.data(CREATE_WEBHOOK, {"input": {"url": receiver.url(), "events": ["*"]}})
        registered = await asyncio.gather(*(_register(api, f"m{i % 50}") for i in range(1000)))
    assert receiver.received == []

    # Time enough that no attempt times out on a loaded machine (a timed-out
    # attempt is sent again, by design): any duplicate is then a double claim.
    patient = _env(
        database_url, MODELREG_WEBHOOK_TIMEOUT_SECONDS="10", MODELREG_WEBHOOK_LEASE_SECONDS="30"
    )
    with running(["worker"], patient), running(["worker"], patient):
        await receiver.wait_for(lambda r: len(r) >= 1050, 120)
    # 1000 versions + 50 model.created events, each sent exactly once.
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == 1050
    assert len(set(ids)) == 1050
    assert set(_by_version(receiver.received)) == set(registered)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_worker_is_woken_by_notify_not_by_polling(
    backend: str, database_url: str, db: Database, receiver: Receiver
) -> None:
    settings = Settings(webhook_dispatcher=False, webhook_allow_private_networks=True)
    slow_polling = _env(database_url, MODELREG_WEBHOOK_POLL_INTERVAL_SECONDS="60")
    async with serving(db, settings) as api:
        webhook_id, _ = await create_webhook(api, receiver.url(), ["model_version.*"])
        await _register(api, "fraud")
        with running(["worker"], slow_polling):
            # The worker's first claim at start-up delivers what was already there...
            await receiver.wait_for(lambda r: len(r) == 1, 30)
            await eventually(
                lambda: webhook_log(api, webhook_id, "SUCCEEDED"),
                lambda w: w["deliveries"]["totalCount"] == 1,
            )
            # Recording that success woke the claim loop once more; let that
            # claim find nothing, so only a NOTIFY can bring the next event.
            await asyncio.sleep(0.5)
            # ...and a commit made now reaches it long before its next poll.
            await _register(api, "fraud")
            await receiver.wait_for(lambda r: len(r) == 2, 20)
