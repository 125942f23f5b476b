"""Live subscriptions: commit -> subscriber latency with 1 and with 500 open, and their memory.

    .venv/bin/python -m bench.live     # alone; `make bench` runs it last (BENCH_LIVE=0 skips)

`modelreg serve --workers 2` on a fresh SQLite file. Subscriber processes
(bench/live_subscribers.py, BENCH_LIVE_CLIENTS of them, 4 by default, so that
one client's event loop is not what is measured) hold graphql-transport-ws
connections with one `registryEvents` subscription each, as a dashboard page
or `modelreg watch` does (BENCH_LIVE_PER_CONNECTION packs more per
connection). The subscription caps (per connection, per token and process)
are set to let the one bench token hold them all, wherever the kernel puts
the connections among the workers.

Latency: `createModelVersion` over HTTP at BENCH_LIVE_RATE commits per second
(2), open loop, over 20 models created before (so each commit is one event),
for BENCH_LIVE_SECONDS (20), first with 1
subscription, then with BENCH_LIVE_SUBSCRIPTIONS (500). The target figure is
from commit: from the event's `occurredAt` (stamped as the writing
transaction begins, so the transaction's own time counts too) to its
arrival on each subscription.
Also from just before the mutation is sent (so it includes the mutation
itself), from the mutation's response, and the last subscriber's arrival per
event from send (when the whole fan-out is done).

Memory: resident set size of the worker processes (summed, from /proc) with
no subscription open, with all of them open, and after the commits; the
difference divided by the subscriptions is the memory per open subscription.
Both workers served a few connections before the idle figure, so first-use
imports are not counted as subscription memory.

Results are printed and added to .bench/results.json under "live".
"""

import asyncio
import math
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.config import BENCH_DIR, LiveConfig
from bench.live_setup import Registry, SubscriberProcess, serve, subscribers
from bench.proc_stats import sample, worker_pids
from bench.report import markdown, merge_json
from bench.webhook_setup import CREATE_VERSION, api_client, create_database, graphql, registry_env

RESULTS_PATH = BENCH_DIR / "results.json"
WORKERS = 2
MODELS = 20
# The measured commits add versions to models of this prefix, created before (see run).
MEASURED_MODELS = "live"
# Connections opened (and closed) before the idle memory figure: enough to reach both workers.
WARMUP_CONNECTIONS = 8
WARMUP_S = 1
PROBE_WAIT_S = 2.0
PROBES = 15
ARRIVAL_TIMEOUT_S = 30.0
SETTLE_S = 1.0
IDLE_S = 2.0
TARGET_P50_MS = 10
TARGET_P99_MS = 50

# "model/version" -> (ns before the request was sent, ns when its response arrived)
Sent = dict[str, tuple[int, int]]


@dataclass(frozen=True)
class LatencyResult:
    subscriptions: int
    connections: int
    client_processes: int
    rate_per_s: int
    seconds: int
    events: int
    # (event, subscription) pairs that never arrived
    lost: int
    # from the event's occurredAt (inside the transaction, before commit): the target figure
    from_commit_p50_ms: float
    from_commit_p90_ms: float
    from_commit_p99_ms: float
    from_commit_max_ms: float
    # from just before the mutation was sent, over every (event, subscription) pair
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    # from the mutation's response (negative gaps, arrivals first, count as 0)
    after_response_p50_ms: float
    after_response_p99_ms: float
    arrived_before_response: int
    # per event, from send to its last subscriber: when the whole fan-out is done
    last_subscriber_p50_ms: float
    last_subscriber_p99_ms: float
    max_start_lag_ms: float
    # workers' CPU while the subscriptions are open and nothing commits (1.0 = a full core)
    server_idle_cpu_share: float
    # workers' CPU per commit while it runs, the mutation and the fan-out (idle share included)
    server_cpu_ms_per_event: float
    # busiest subscriber process's CPU time over the wall time of the run (1.0 = a full core)
    busiest_client_cpu_share: float
    problems: list[str]


@dataclass(frozen=True)
class MemoryResult:
    workers: int
    idle_mb: float
    open_mb: float
    after_commits_mb: float
    per_subscription_kb: float
    per_subscription_after_commits_kb: float


def _percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest rank: the smallest value with at least `fraction` of all at or below it."""
    if not sorted_values:
        return math.nan
    return sorted_values[max(0, math.ceil(fraction * len(sorted_values)) - 1)]


async def _drive(
    registry: Registry, env: dict[str, str], rate: int, seconds: float, prefix: str
) -> tuple[Sent, float]:
    """`createModelVersion` at `rate` per second; returns send/response times and worst lag."""
    sent: Sent = {}
    worst_lag_s = 0.0
    async with api_client(registry.base_url, env) as client:

        async def one(i: int, slot_ns: int) -> None:
            model = f"{prefix}-{i % MODELS}"
            payload = {"modelName": model, "source": f"s3://bench/{i}"}
            data = await graphql(client, CREATE_VERSION, {"input": payload})
            version = data["createModelVersion"]["modelVersion"]["version"]
            sent[f"{model}/{version}"] = (slot_ns, time.monotonic_ns())

        start = time.monotonic() + 0.05
        tasks = []
        for i in range(max(1, int(seconds * rate))):
            slot = start + i / rate
            await asyncio.sleep(max(0.0, slot - time.monotonic()))
            worst_lag_s = max(worst_lag_s, time.monotonic() - slot)
            tasks.append(asyncio.create_task(one(i, time.monotonic_ns())))
        await asyncio.gather(*tasks)
    return sent, worst_lag_s * 1000


def _wait_until_live(
    registry: Registry, env: dict[str, str], clients: list[SubscriberProcess], expected: int
) -> None:
    """Commit probes until every subscription has received one (the hub has them all)."""
    for probe in range(PROBES):
        asyncio.run(_drive(registry, env, 1, 1, f"probe-{probe}"))
        deadline = time.monotonic() + PROBE_WAIT_S
        while time.monotonic() < deadline:
            if sum(client.count() for client in clients) >= expected:
                for client in clients:
                    client.dump()  # the probes' arrivals are not measured
                return
            time.sleep(0.05)
    heard = sum(client.count() for client in clients)
    raise RuntimeError(f"only {heard} of {expected} subscriptions received an event")


def _collect(
    clients: list[SubscriberProcess], sent: Sent, subscriptions: int
) -> tuple[dict[str, list[tuple[int, int]]], list[float], list[str]]:
    """Arrivals of the sent events (waiting for stragglers), CPU seconds per client, problems.

    An arrival is (CLOCK_MONOTONIC ns, ns since the event's occurredAt).
    """
    arrivals: dict[str, list[tuple[int, int]]] = {key: [] for key in sent}
    cpu_s = [0.0] * len(clients)
    problems: list[str] = []
    deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
    while True:
        for i, client in enumerate(clients):
            dumped = client.dump()
            cpu_s[i] = float(dumped["cpu_s"])
            problems = [*problems, *dumped["problems"]]
            for key, times in dumped["arrivals"].items():
                if key in arrivals:
                    arrivals[key].extend((at, since) for at, since in times)
        complete = sum(len(times) for times in arrivals.values()) >= len(sent) * subscriptions
        if complete or time.monotonic() > deadline:
            return arrivals, cpu_s, problems
        time.sleep(0.2)


def _cpu_s(registry: Registry) -> float:
    return sum(s.cpu_s for s in sample(worker_pids(registry.supervisor)))


def _rss_mb(registry: Registry) -> float:
    return sum(s.rss_bytes for s in sample(worker_pids(registry.supervisor))) / 2**20


def _measure(
    registry: Registry,
    env: dict[str, str],
    clients: list[SubscriberProcess],
    config: LiveConfig,
    subscriptions: int,
    connections: int,
) -> LatencyResult:
    _wait_until_live(registry, env, clients, subscriptions)
    idle_from = _cpu_s(registry)
    time.sleep(IDLE_S)
    idle_share = (_cpu_s(registry) - idle_from) / IDLE_S
    cpu_before = [float(client.dump()["cpu_s"]) for client in clients]
    server_cpu_before = _cpu_s(registry)
    started = time.monotonic()
    sent, lag_ms = asyncio.run(
        _drive(registry, env, config.rate_per_s, config.duration_s, MEASURED_MODELS)
    )
    wall_s = time.monotonic() - started
    server_cpu_s = _cpu_s(registry) - server_cpu_before
    arrivals, cpu_after, problems = _collect(clients, sent, subscriptions)
    from_send, from_response, from_commit, last = [], [], [], []
    early = 0
    for key, (send_ns, response_ns) in sent.items():
        times = [at for at, _ in arrivals[key]]
        from_commit += [since / 1e6 for _, since in arrivals[key]]
        from_send += [(t - send_ns) / 1e6 for t in times]
        gaps = [(t - response_ns) / 1e6 for t in times]
        early += sum(1 for gap in gaps if gap < 0)
        from_response += [max(0.0, gap) for gap in gaps]
        if len(times) == subscriptions:
            last.append((max(times) - send_ns) / 1e6)
    from_send.sort()
    from_response.sort()
    from_commit.sort()
    last.sort()
    client_share = max(
        (after - before) / wall_s for before, after in zip(cpu_before, cpu_after, strict=True)
    )
    return LatencyResult(
        subscriptions=subscriptions,
        connections=connections,
        client_processes=len(clients),
        rate_per_s=config.rate_per_s,
        seconds=config.duration_s,
        events=len(sent),
        lost=len(sent) * subscriptions - len(from_send),
        from_commit_p50_ms=_percentile(from_commit, 0.50),
        from_commit_p90_ms=_percentile(from_commit, 0.90),
        from_commit_p99_ms=_percentile(from_commit, 0.99),
        from_commit_max_ms=from_commit[-1] if from_commit else math.nan,
        p50_ms=_percentile(from_send, 0.50),
        p90_ms=_percentile(from_send, 0.90),
        p99_ms=_percentile(from_send, 0.99),
        max_ms=from_send[-1] if from_send else math.nan,
        after_response_p50_ms=_percentile(from_response, 0.50),
        after_response_p99_ms=_percentile(from_response, 0.99),
        arrived_before_response=early,
        last_subscriber_p50_ms=_percentile(last, 0.50),
        last_subscriber_p99_ms=_percentile(last, 0.99),
        max_start_lag_ms=lag_ms,
        server_idle_cpu_share=idle_share,
        server_cpu_ms_per_event=server_cpu_s * 1000 / max(1, len(sent)),
        busiest_client_cpu_share=client_share,
        problems=problems[:20],
    )


def _split(total: int, parts: int) -> list[int]:
    """`total` connections over at most `parts` processes, as evenly as may be."""
    parts = max(1, min(parts, total))
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def run(config: LiveConfig) -> tuple[list[LatencyResult], MemoryResult]:
    connections = math.ceil(config.subscriptions / config.per_connection)
    with tempfile.TemporaryDirectory(prefix="live-", dir=BENCH_DIR) as scratch:
        workdir = Path(scratch)
        env = registry_env(
            workdir / "live.db",
            # One token holds every subscription, possibly all in one worker.
            MODELREG_LIVE_SUBSCRIPTIONS_PER_TOKEN=str(max(1000, config.subscriptions)),
            MODELREG_LIVE_SUBSCRIPTIONS_PER_CONNECTION=str(max(100, config.per_connection)),
        )
        create_database(env)
        token = env["MODELREG_TOKEN"]
        log = workdir / "subscribers.log"
        with serve(env, WORKERS, workdir / "serve.log") as registry:
            # Unmeasured: both workers import and warm their WebSocket and GraphQL paths.
            with subscribers(registry, token, [WARMUP_CONNECTIONS], 1, log) as clients:
                _wait_until_live(registry, env, clients, WARMUP_CONNECTIONS)
                asyncio.run(_drive(registry, env, config.rate_per_s, WARMUP_S, "warmup"))
                # The measured models exist before: each measured commit is one event
                # (a model's first version also announces the model, a second message).
                asyncio.run(_drive(registry, env, MODELS, 1, MEASURED_MODELS))
            with subscribers(registry, token, [1], 1, log) as clients:
                print(f"live: 1 subscription, {config.rate_per_s} commits/s")
                one = _measure(registry, env, clients, config, 1, 1)
            time.sleep(SETTLE_S)  # closed connections are cleaned up
            idle_mb = _rss_mb(registry)
            split = _split(connections, config.client_processes)
            total = connections * config.per_connection
            with subscribers(registry, token, split, config.per_connection, log) as clients:
                _wait_until_live(registry, env, clients, total)
                open_mb = _rss_mb(registry)
                print(f"live: {total} subscriptions, {config.rate_per_s} commits/s")
                many = _measure(registry, env, clients, config, total, connections)
                after_mb = _rss_mb(registry)
    memory = MemoryResult(
        workers=WORKERS,
        idle_mb=idle_mb,
        open_mb=open_mb,
        after_commits_mb=after_mb,
        per_subscription_kb=(open_mb - idle_mb) * 1024 / total,
        per_subscription_after_commits_kb=(after_mb - idle_mb) * 1024 / total,
    )
    return [one, many], memory


def _report(latencies: list[LatencyResult], memory: MemoryResult) -> str:
    rows = [
        [
            f"{r.subscriptions} on {r.connections} conn., {r.client_processes} client proc.",
            f"{r.from_commit_p50_ms:.1f} / {r.from_commit_p90_ms:.1f} / "
            f"{r.from_commit_p99_ms:.1f} / {r.from_commit_max_ms:.1f}",
            f"{r.p50_ms:.1f} / {r.p90_ms:.1f} / {r.p99_ms:.1f} / {r.max_ms:.1f}",
            f"{r.after_response_p50_ms:.1f} / {r.after_response_p99_ms:.1f}",
            f"{r.last_subscriber_p50_ms:.1f} / {r.last_subscriber_p99_ms:.1f}",
            f"{r.lost} of {r.events * r.subscriptions}",
            f"{r.server_idle_cpu_share:.0%}",
            f"{r.server_cpu_ms_per_event:.1f}",
            f"{r.busiest_client_cpu_share:.0%}",
        ]
        for r in latencies
    ]
    first = latencies[0]
    lines = [
        f"\n### live: commit -> subscriber, {first.rate_per_s} commits/s for {first.seconds} s "
        f"(target p50 < {TARGET_P50_MS} ms, p99 < {TARGET_P99_MS} ms)\n",
        markdown(
            [
                "subscriptions",
                "from commit p50 / p90 / p99 / max ms",
                "from send p50 / p90 / p99 / max ms",
                "from response p50 / p99",
                "last subscriber p50 / p99",
                "lost",
                "server CPU idle",
                "server CPU ms/event",
                "busiest client CPU",
            ],
            rows,
        ),
        f"\n### live: worker memory (RSS, {memory.workers} workers summed)\n",
        markdown(
            ["subscriptions open", "RSS MB"],
            [
                ["0 (after warm-up)", f"{memory.idle_mb:.1f}"],
                [str(latencies[-1].subscriptions), f"{memory.open_mb:.1f}"],
                ["same, after the commits", f"{memory.after_commits_mb:.1f}"],
            ],
        ),
        f"\nper open subscription: {memory.per_subscription_kb:.1f} KB "
        f"({memory.per_subscription_after_commits_kb:.1f} KB after the commits)",
    ]
    for r in latencies:
        lines += [f"problems ({r.subscriptions}): {p}" for p in r.problems]
    return "\n".join(lines)


def main(config: LiveConfig) -> None:
    BENCH_DIR.mkdir(exist_ok=True)
    load = os.getloadavg()
    print(f"\nlive: load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} before starting")
    latencies, memory = run(config)
    load_after = os.getloadavg()
    print(_report(latencies, memory))
    print(f"load average after: {load_after[0]:.2f} / {load_after[1]:.2f} / {load_after[2]:.2f}")
    section: dict[str, Any] = {
        "load_average_before": list(load),
        "load_average_after": list(load_after),
        "latency": [asdict(r) for r in latencies],
        "memory": asdict(memory),
    }
    merge_json(RESULTS_PATH, "live", section)
    print(f"\nadded live to {RESULTS_PATH}")


if __name__ == "__main__":
    main(LiveConfig.from_env())
    sys.exit(0)
