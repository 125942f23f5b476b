"""End-to-end webhook latency: from a mutation's HTTP response to the webhook's arrival.

`modelreg serve` (one process, dispatcher inside) on a fresh SQLite file with
one subscription to model_version.created; `createModelVersion` at a fixed rate,
open loop (each request starts at its slot whether or not earlier ones
answered, so a slow server cannot slow the load down and hide its own latency),
spread over several models because deliveries of one model go out one at a time.
The response time is the client's view of "the change is done"; a webhook may
beat it (the dispatcher is woken at commit), so those gaps are negative: they
are counted, and clipped to 0 in the percentiles.
"""

import asyncio
import math
import time
from dataclasses import dataclass
from pathlib import Path

from bench.webhook_setup import (
    CREATE_VERSION,
    api_client,
    create_database,
    graphql,
    receiver,
    registry_env,
    serve,
    subscribe,
)

RATE_PER_S = 50
MODELS = 20
WARMUP_S = 1
ARRIVAL_TIMEOUT_S = 30.0

# (model, version) -> CLOCK_MONOTONIC ns at which its mutation's response arrived
Responses = dict[tuple[str, int], int]


@dataclass(frozen=True)
class LatencyResult:
    rate_per_s: int
    seconds: int
    events: int
    lost: int
    arrived_before_response: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    # How late the load generator started a request after its slot (open-loop honesty).
    max_start_lag_ms: float


async def _drive(
    base_url: str, env: dict[str, str], seconds: int, prefix: str
) -> tuple[Responses, float]:
    """Requests at RATE_PER_S over MODELS models; returns responses and the worst start lag."""
    responded: Responses = {}
    worst_lag_s = 0.0
    async with api_client(base_url, env) as client:

        async def one(i: int) -> None:
            model = f"{prefix}-{i % MODELS}"
            payload = {"modelName": model, "source": f"s3://bench/{i}"}
            data = await graphql(client, CREATE_VERSION, {"input": payload})
            arrived = time.monotonic_ns()
            responded[(model, int(data["createModelVersion"]["modelVersion"]["version"]))] = arrived

        start = time.monotonic() + 0.05
        tasks = []
        for i in range(seconds * RATE_PER_S):
            slot = start + i / RATE_PER_S
            await asyncio.sleep(max(0.0, slot - time.monotonic()))
            worst_lag_s = max(worst_lag_s, time.monotonic() - slot)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return responded, worst_lag_s * 1000


def _percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest rank: the smallest value with at least `fraction` of all at or below it."""
    return sorted_values[max(0, math.ceil(fraction * len(sorted_values)) - 1)]


def measure_latency(workdir: Path, seconds: int) -> LatencyResult:
    env = registry_env(workdir / "latency.db")
    create_database(env)
    with (
        receiver(1, workdir / "latency-receiver.log") as endpoint,
        serve(env, workdir / "latency-serve.log") as base_url,
    ):

        async def subscribe_one() -> None:
            async with api_client(base_url, env) as client:
                await subscribe(client, [endpoint.url(0)], ["model_version.created"])

        asyncio.run(subscribe_one())
        # Unmeasured: connections, caches and lazy imports settle first.
        warm, _ = asyncio.run(_drive(base_url, env, WARMUP_S, "warmup"))
        endpoint.wait_for(len(warm), ARRIVAL_TIMEOUT_S)
        endpoint.reset()
        responded, lag_ms = asyncio.run(_drive(base_url, env, seconds, "latency"))
        endpoint.wait_for(len(responded), ARRIVAL_TIMEOUT_S)
        arrived = {(r.model, r.version): r.arrived_ns for r in endpoint.receipts()}
    gaps = [(arrived[key] - at) / 1e6 for key, at in responded.items() if key in arrived]
    clipped = sorted(max(0.0, gap) for gap in gaps) or [math.nan]
    return LatencyResult(
        rate_per_s=RATE_PER_S,
        seconds=seconds,
        events=len(responded),
        lost=len(responded) - len(gaps),
        arrived_before_response=sum(1 for gap in gaps if gap < 0),
        p50_ms=_percentile(clipped, 0.50),
        p90_ms=_percentile(clipped, 0.90),
        p99_ms=_percentile(clipped, 0.99),
        max_ms=clipped[-1],
        max_start_lag_ms=lag_ms,
    )
