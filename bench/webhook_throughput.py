"""Sustained webhook deliveries per second from a backlog, to 10 endpoints.

The backlog is queued once by `modelreg serve` with its dispatcher off, so the
mutations do not compete with the deliveries; each variant then gets a copy of
that database file and `modelreg worker` processes that deliver it all. Each
endpoint is its own port on the receiver (its own origin, as real subscribers
are), and versions are spread over many models because deliveries of one model
to one endpoint go out strictly one after another.
"""

import asyncio
import re
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from bench.receiver import Receipt
from bench.webhook_setup import (
    Receiver,
    api_client,
    create_database,
    create_versions,
    registry_env,
    serve,
    subscribe,
    workers,
)

ENDPOINTS = 10
MODELS = 100
VERSIONS = 900
QUEUE_PARALLEL = 8
DELIVERY_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Backlog:
    database: Path
    # Every event queued, as (model, version); each goes to every endpoint.
    events: list[tuple[str, int]]


@dataclass(frozen=True)
class Variant:
    label: str
    workers: int = 1
    settings: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ThroughputResult:
    label: str
    expected: int
    received: int
    lost: int
    duplicates: int
    out_of_order: int
    deliveries_per_s: float  # first to last arrival
    deliveries_per_s_with_startup: float  # worker start to last arrival
    first_delivery_s: float  # after worker start: process start-up and first claim
    last_delivery_s: float


def queue_backlog(workdir: Path, endpoint: Receiver) -> Backlog:
    """Subscribe every endpoint and create VERSIONS versions with no dispatcher running."""
    database = workdir / "backlog.db"
    env = registry_env(database, MODELREG_WEBHOOK_DISPATCHER="false")
    create_database(env)

    async def queue(base_url: str) -> list[tuple[str, int]]:
        async with api_client(base_url, env) as client:
            urls = [endpoint.url(i) for i in range(ENDPOINTS)]
            await subscribe(client, urls, ["model_version.created"])
            models = [f"m{i % MODELS}" for i in range(VERSIONS)]
            return await create_versions(client, models, QUEUE_PARALLEL)

    # Stopping the server checkpoints SQLite's WAL into the file that is copied.
    with serve(env, workdir / "backlog-serve.log") as base_url:
        events = asyncio.run(queue(base_url))
    return Backlog(database, events)


def deliver(
    backlog: Backlog, endpoint: Receiver, variant: Variant, workdir: Path
) -> ThroughputResult:
    """Time `variant`'s workers delivering a fresh copy of the backlog."""
    slug = re.sub(r"\W+", "-", variant.label).strip("-")
    database = workdir / f"deliver-{slug}.db"
    # A WAL left behind holds committed rows too; the key file seals the endpoints'
    # secrets (without it the workers make a new key and cannot sign anything).
    for suffix in ("", "-wal", ".key"):
        source = Path(f"{backlog.database}{suffix}")
        if source.exists():
            shutil.copy2(source, f"{database}{suffix}")  # the key's 0600 mode too
    env = registry_env(database, **dict(variant.settings))
    expected = len(backlog.events) * ENDPOINTS
    endpoint.reset()
    started_ns = time.monotonic_ns()
    with workers(env, variant.workers, workdir / "workers.log"):
        endpoint.wait_for(expected, DELIVERY_TIMEOUT_S)
    # Read after the workers stopped, so a delivery sent twice on shutdown is seen too.
    return _summarize(variant.label, backlog, endpoint.ports, endpoint.receipts(), started_ns)


def _summarize(
    label: str,
    backlog: Backlog,
    ports: list[int],
    receipts: list[Receipt],
    started_ns: int,
) -> ThroughputResult:
    expected = {(port, model, version) for port in ports for model, version in backlog.events}
    received = {(r.port, r.model, r.version) for r in receipts}
    ids = [r.webhook_id for r in receipts]
    first_ns = min((r.arrived_ns for r in receipts), default=started_ns)
    last_ns = max((r.arrived_ns for r in receipts), default=started_ns)
    span_s = max((last_ns - first_ns) / 1e9, 1e-9)
    return ThroughputResult(
        label=label,
        expected=len(expected),
        received=len(receipts),
        lost=len(expected - received),
        duplicates=len(ids) - len(set(ids)),
        out_of_order=_out_of_order(receipts),
        deliveries_per_s=len(receipts) / span_s,
        deliveries_per_s_with_startup=len(receipts) / max((last_ns - started_ns) / 1e9, 1e-9),
        first_delivery_s=(first_ns - started_ns) / 1e9,
        last_delivery_s=(last_ns - started_ns) / 1e9,
    )


def _out_of_order(receipts: list[Receipt]) -> int:
    """Arrivals whose sequence is below an earlier one's at the same (endpoint, model)."""
    highest: defaultdict[tuple[int, str | None], int] = defaultdict(lambda: -1)
    late = 0
    for r in sorted(receipts, key=lambda r: r.arrived_ns):
        key = (r.port, r.model)
        sequence = -1 if r.sequence is None else r.sequence
        if sequence < highest[key]:
            late += 1
        highest[key] = max(highest[key], sequence)
    return late
