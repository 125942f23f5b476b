"""Webhook delivery: end-to-end latency and sustained deliveries per second.

    .venv/bin/python -m bench.webhook_delivery      # alone (also part of `make bench`)

1. Latency: `modelreg serve` (dispatcher inside, fresh SQLite) with one
   subscription; `createModelVersion` at 50 requests/s, open loop, over 20
   models for BENCH_DURATION seconds. For each event: time from the mutation's
   HTTP response to the event's arrival at a receiver process (negative when
   the webhook beats the response; counted, and clipped to 0 in percentiles).
2. Throughput: 900 versions over 100 models registered with no dispatcher
   running and 10 subscribed endpoints (9,000 deliveries queued), then
   one or two `modelreg worker` processes deliver them; deliveries/s from the first to
   the last arrival. Lost and duplicated deliveries are counted.
"""

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.config import BENCH_DIR, BenchConfig
from bench.server_process import free_port, running_server

MODELREG = str(Path(sys.executable).with_name("modelreg"))
RATE_PER_S = 50
LATENCY_MODELS = 20
THROUGHPUT_VERSIONS = 900
THROUGHPUT_MODELS = 100
ENDPOINTS = 10
RESULTS_PATH = BENCH_DIR / "webhooks.json"

CREATE_VERSION = """
mutation($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) { modelVersion { version } }
}"""
CREATE_WEBHOOK = """
mutation($url: String!) {
  createWebhook(input: {url: $url, events: ["model_version.created"]}) { webhook { id } }
}"""


@dataclass(frozen=True)
class LatencyResult:
    events: int
    lost: int
    negative: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float


@dataclass(frozen=True)
class ThroughputResult:
    deliveries: int
    lost: int
    duplicates: int
    deliveries_per_s: float
    seconds_from_worker_start: float


def _environment(database: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "MODELREG_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "MODELREG_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        **extra,
    }


@contextmanager
def _receiver(workdir: Path) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "bench.webhook_receiver", str(port)]
    base = f"http://127.0.0.1:{port}"
    with running_server(command, os.environ, f"{base}/__count", workdir / "receiver.log", 30):
        yield base


@contextmanager
def _serve(env: Mapping[str, str], workdir: Path) -> Iterator[str]:
    subprocess.run([MODELREG, "db", "upgrade"], env=dict(env), check=True, capture_output=True)
    port = free_port()
    command = [MODELREG, "serve", "--port", str(port)]
    with running_server(command, env, f"http://127.0.0.1:{port}/readyz", workdir / "serve.log", 60):
        yield f"http://127.0.0.1:{port}"


async def _post(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    body = response.json()
    if "errors" in body:
        raise RuntimeError(body["errors"])
    return body["data"]


def _receipts(receiver: str) -> list[list[Any]]:
    receipts: list[list[Any]] = orjson.loads(
        httpx.get(f"{receiver}/__receipts", timeout=30).content
    )
    return receipts


def _count(receiver: str) -> int:
    return int(httpx.get(f"{receiver}/__count", timeout=10).text)


def _percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def _wait_for_count(receiver: str, count: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while _count(receiver) < count and time.monotonic() < deadline:
        time.sleep(0.05)


async def _drive_at_rate(base: str, seconds: int, prefix: str) -> dict[tuple[str, int], int]:
    """Open loop: request i starts at i / RATE, whether or not earlier ones finished."""
    responded: dict[tuple[str, int], int] = {}
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

        async def one(i: int, at: float) -> None:
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            model = f"{prefix}-{i % LATENCY_MODELS}"
            payload = {"modelName": model, "source": f"s3://bench/{i}"}
            data = await _post(client, CREATE_VERSION, {"input": payload})
            done = time.monotonic_ns()
            responded[(model, data["createModelVersion"]["modelVersion"]["version"])] = done

        start = time.monotonic() + 0.5
        count = seconds * RATE_PER_S
        await asyncio.gather(*(one(i, start + i / RATE_PER_S) for i in range(count)))
    return responded


def measure_latency(workdir: Path, seconds: int) -> LatencyResult:
    with (
        _receiver(workdir) as receiver,
        _serve(_environment(workdir / "latency.db"), workdir) as base,
    ):
        httpx.post(
            f"{base}/graphql",
            json={"query": CREATE_WEBHOOK, "variables": {"url": f"{receiver}/latency"}},
            timeout=30,
        ).raise_for_status()
        # Unmeasured first second: connections, caches and lazy imports settle.
        warm = asyncio.run(_drive_at_rate(base, 1, "warmup"))
        _wait_for_count(receiver, len(warm))
        responded = asyncio.run(_drive_at_rate(base, seconds, "latency"))
        _wait_for_count(receiver, len(warm) + len(responded))
        arrived = {(r[2], r[3]): r[4] for r in _receipts(receiver)}
    gaps = [(arrived[key] - at) / 1e6 for key, at in responded.items() if key in arrived]
    clipped = sorted(max(0.0, g) for g in gaps)
    return LatencyResult(
        events=len(responded),
        lost=len(responded) - len(gaps),
        negative=sum(1 for g in gaps if g < 0),
        p50_ms=_percentile(clipped, 0.50),
        p90_ms=_percentile(clipped, 0.90),
        p99_ms=_percentile(clipped, 0.99),
        max_ms=clipped[-1],
    )


async def _queue_events(base: str, receiver: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for i in range(ENDPOINTS):
            await _post(client, CREATE_WEBHOOK, {"url": f"{receiver}/endpoint-{i}"})
        gate = asyncio.Semaphore(8)

        async def one(i: int) -> None:
            async with gate:
                payload = {"modelName": f"m{i % THROUGHPUT_MODELS}", "source": "s3://bench"}
                await _post(client, CREATE_VERSION, {"input": payload})

        await asyncio.gather(*(one(i) for i in range(THROUGHPUT_VERSIONS)))


def measure_throughput(workdir: Path, workers: int) -> ThroughputResult:
    expected = THROUGHPUT_VERSIONS * ENDPOINTS
    with _receiver(workdir) as receiver:
        env = _environment(workdir / f"throughput-{workers}.db")
        with _serve({**env, "MODELREG_WEBHOOK_DISPATCHER": "false"}, workdir) as base:
            asyncio.run(_queue_events(base, receiver))
        started = time.monotonic_ns()
        log = (workdir / "worker.log").open("wb")
        processes = [
            subprocess.Popen([MODELREG, "worker"], env=env, stdout=log, stderr=log)
            for _ in range(workers)
        ]
        try:
            deadline = time.monotonic() + 120
            while _count(receiver) < expected and time.monotonic() < deadline:
                time.sleep(0.05)
            receipts = _receipts(receiver)
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=30)
            log.close()
    ids = [r[1] for r in receipts]
    times = sorted(r[4] for r in receipts)
    span_s = (times[-1] - times[0]) / 1e9 if len(times) > 1 else float("nan")
    return ThroughputResult(
        deliveries=len(set(ids)),
        lost=expected - len(set(ids)),
        duplicates=len(ids) - len(set(ids)),
        deliveries_per_s=len(ids) / span_s,
        seconds_from_worker_start=(times[-1] - started) / 1e9 if times else float("nan"),
    )


def run(config: BenchConfig) -> dict[str, Any]:
    BENCH_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="webhooks-", dir=BENCH_DIR) as scratch:
        workdir = Path(scratch)
        print(f"\nwebhooks: end-to-end latency at {RATE_PER_S} events/s for {config.duration_s} s")
        latency = measure_latency(workdir, config.duration_s)
        print(
            f"webhooks: {THROUGHPUT_VERSIONS * ENDPOINTS} deliveries to {ENDPOINTS} endpoints"
            " by `modelreg worker`"
        )
        throughput = {n: measure_throughput(workdir, n) for n in (1, 2)}
    print("\n| webhook delivery | result | target |\n|---|---:|---:|")
    print(f"| latency p50 (mutation response → receipt) | {latency.p50_ms:.1f} ms | < 20 ms |")
    print(f"| latency p90 | {latency.p90_ms:.1f} ms | |")
    print(f"| latency p99 | {latency.p99_ms:.1f} ms | < 100 ms |")
    print(f"| latency max | {latency.max_ms:.1f} ms | |")
    print(
        f"| events lost / arrived before the response | {latency.lost} / {latency.negative} | 0 / |"
    )
    for workers, result in throughput.items():
        print(
            f"| sustained deliveries/s, {ENDPOINTS} endpoints, {workers} worker process(es)"
            f" | {result.deliveries_per_s:,.0f} | ≥ 1,000 |"
        )
        print(
            f"| {result.deliveries} deliveries: lost / duplicated | {result.lost} /"
            f" {result.duplicates} | 0 / 0 |"
        )
        print(f"| worker start → last delivery | {result.seconds_from_worker_start:.2f} s | |")
    results = {
        "latency": asdict(latency),
        "throughput": {f"{n}_workers": asdict(r) for n, r in throughput.items()},
    }
    RESULTS_PATH.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print(f"\nwrote {RESULTS_PATH}")
    return results


if __name__ == "__main__":
    run(BenchConfig.from_env())
