"""Webhook delivery: end-to-end latency and sustained deliveries per second.

    .venv/bin/python -m bench.webhooks     # alone; `make bench` runs it last

1. Latency (bench/webhook_latency.py): `createModelVersion` at 50 requests/s for
   BENCH_DURATION seconds against `modelreg serve` with one subscription; time
   from each mutation's response to its webhook's arrival. Targets: p50 < 20 ms,
   p99 < 100 ms.
2. Throughput (bench/webhook_throughput.py): 900 versions over 100 models queued
   for 10 endpoints (9,000 deliveries) with no dispatcher, then delivered by
   `modelreg worker` in several configurations, each from a copy of the same
   backlog; lost, duplicated and out-of-order deliveries are counted. Target:
   1,000 deliveries/s.

The receiver (bench/receiver.py) is a separate process, so it never shares a
GIL with the load generator or the dispatcher. Results are printed and added
to .bench/results.json under "webhooks".
"""

import os
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from bench.config import BENCH_DIR, BenchConfig
from bench.report import markdown, merge_json
from bench.webhook_latency import LatencyResult, measure_latency
from bench.webhook_setup import receiver
from bench.webhook_throughput import (
    ENDPOINTS,
    ThroughputResult,
    Variant,
    deliver,
    queue_backlog,
)

RESULTS_PATH = BENCH_DIR / "results.json"
TARGET_PER_S = 1000
# The dispatcher keeps at most min(MAX_IN_FLIGHT, endpoints x CONCURRENCY_PER_ENDPOINT)
# sends in flight: with 10 endpoints and the default 8 per endpoint that is 80, so
# MAX_IN_FLIGHT only matters below 80 unless the per-endpoint limit is raised too.
VARIANTS = (
    Variant("1 worker, defaults (in flight 256, 8 per endpoint)"),
    Variant("1 worker, MAX_IN_FLIGHT=32", settings=(("MODELREG_WEBHOOK_MAX_IN_FLIGHT", "32"),)),
    Variant(
        "1 worker, MAX_IN_FLIGHT=1024, CONCURRENCY_PER_ENDPOINT=64",
        settings=(
            ("MODELREG_WEBHOOK_MAX_IN_FLIGHT", "1024"),
            ("MODELREG_WEBHOOK_CONCURRENCY_PER_ENDPOINT", "64"),
        ),
    ),
    Variant("2 workers, defaults", workers=2),
)


def run(config: BenchConfig) -> None:
    BENCH_DIR.mkdir(exist_ok=True)
    load_average = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="webhooks-", dir=BENCH_DIR) as scratch:
        workdir = Path(scratch)
        print(f"\nwebhooks: latency at 50 events/s for {config.duration_s} s")
        latency = measure_latency(workdir, config.duration_s)
        with receiver(ENDPOINTS, workdir / "throughput-receiver.log") as endpoints:
            backlog = queue_backlog(workdir, endpoints)
            print(f"webhooks: {len(backlog.events) * ENDPOINTS:,} deliveries queued")
            throughput = []
            for variant in VARIANTS:
                result = deliver(backlog, endpoints, variant, workdir)
                print(f"webhooks: {variant.label}: {result.deliveries_per_s:,.0f} deliveries/s")
                throughput.append(result)
    print(_report(latency, throughput))
    merge_json(
        RESULTS_PATH,
        "webhooks",
        {
            "load_average_before": load_average,
            "latency": asdict(latency),
            "throughput": [asdict(r) for r in throughput],
        },
    )
    print(f"\nadded webhooks to {RESULTS_PATH}")


def _report(latency: LatencyResult, throughput: list[ThroughputResult]) -> str:
    latency_rows = [
        [
            f"{latency.rate_per_s}/s for {latency.seconds} s",
            f"{latency.p50_ms:.1f}",
            f"{latency.p90_ms:.1f}",
            f"{latency.p99_ms:.1f}",
            f"{latency.max_ms:.1f}",
            f"{latency.arrived_before_response} of {latency.events}",
            str(latency.lost),
        ]
    ]
    throughput_rows = [
        [
            r.label,
            f"{r.deliveries_per_s:,.0f}",
            f"{r.deliveries_per_s_with_startup:,.0f}",
            f"{r.first_delivery_s:.2f}",
            f"{r.last_delivery_s:.2f}",
            f"{r.lost} / {r.duplicates} / {r.out_of_order}",
        ]
        for r in throughput
    ]
    return "\n".join(
        [
            "\n### webhook latency: mutation response -> arrival (target p50 < 20, p99 < 100 ms)\n",
            markdown(
                ["load", "p50 ms", "p90 ms", "p99 ms", "max ms", "before response", "lost"],
                latency_rows,
            ),
            f"\n### webhook throughput: {throughput[0].expected:,} deliveries to {ENDPOINTS} "
            f"endpoints by `modelreg worker` (target {TARGET_PER_S:,}/s)\n",
            markdown(
                [
                    "configuration",
                    "deliveries/s",
                    "incl. start-up",
                    "first s",
                    "last s",
                    "lost / dup / out of order",
                ],
                throughput_rows,
            ),
            "\nfirst s / last s: seconds from starting the worker process(es) to the first and "
            "the last arrival.",
        ]
    )


if __name__ == "__main__":
    run(BenchConfig.from_env())
    sys.exit(0)
