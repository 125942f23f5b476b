"""Load-test the registry's main operations with wrk, optionally against MLflow.

Run from the repository root:

    make bench                            # modelreg only, 10 s per operation
    BENCH_PEER=mlflow make bench          # also MLflow 3 (installed in .bench/mlflow-venv)
    BENCH_DURATION=30 make bench          # 30 s per operation
    BENCH_BASELINE=HEAD~3 make bench      # also that commit: before/after in one run
    BENCH_BASELINE=A,B BENCH_ROUNDS=3 BENCH_OPERATIONS="create version,list 25 versions" make bench

(`make bench` runs `.venv/bin/python -m bench.run`.) BENCH_WARMUP sets the unmeasured
warm-up before each operation (default 2 s). Webhook delivery is measured last
(bench/webhooks.py; BENCH_WEBHOOKS=0 skips it), then live subscriptions
(bench/live.py; BENCH_LIVE=0 skips it). BENCH_BASELINE takes several refs;
BENCH_ROUNDS=N measures every server N times, taking turns (this checkout,
then each baseline, then again), so that the machine's drift hits all alike;
BENCH_OPERATIONS keeps only the named operations.

Each server gets a fresh SQLite database in a temporary directory under .bench/,
runs with 2 worker processes on 127.0.0.1, is seeded over its API and then loaded
by wrk (2 threads, 8 connections) one operation at a time: create a version,
promote a version to production (each wrk thread cycling through 16 models of
its own, versions 2 then 1, so no two requests race), read the production
version, list 25 versions, and a trivial health check that shows how fast wrk
itself can go on this machine. Servers run one after the other, never
together. wrk is installed with apt-get when missing. MLflow gets uvicorn[standard]
(uvloop, httptools) like the registry, and its GenAI job runner and access log are
off (see bench/mlflow_target.py). Results are printed as Markdown tables and
written to .bench/results.json, with the machine's load average before the run.
"""

import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from bench import live, webhooks
from bench.config import BENCH_DIR, BenchConfig, LiveConfig
from bench.mlflow_target import MlflowTarget
from bench.modelreg_target import ModelregTarget
from bench.report import Results, comparison_table, results_table, rounds_table, write_json
from bench.target import Target
from bench.wrk import CONNECTIONS, THREADS, WrkResult, ensure_wrk, run_wrk

RESULTS_PATH = BENCH_DIR / "results.json"
# On 2 cores, anything else running takes CPU from the servers and from wrk alike.
BUSY_LOAD_AVERAGE = 0.5


def main() -> int:
    config = BenchConfig.from_env()
    load_average = _report_load_average()
    wrk = ensure_wrk()
    targets: list[Target] = [ModelregTarget()]
    targets += [ModelregTarget(baseline=ref) for ref in config.baselines]
    if config.peer == "mlflow":
        targets.append(MlflowTarget())
    BENCH_DIR.mkdir(exist_ok=True)
    # Installs first, so that no pip run competes with a server being measured.
    for target in targets:
        target.prepare()

    # Server name (with " #N" from the second round on) -> its results.
    results: dict[str, Results] = {}
    with tempfile.TemporaryDirectory(prefix="run-", dir=BENCH_DIR) as scratch:
        for round_index in range(config.rounds):
            for target in targets:
                name = target.name + (f" #{round_index + 1}" if round_index else "")
                workdir = Path(scratch) / name.replace(" #", "-")
                workdir.mkdir()
                print(f"load average (1 min): {os.getloadavg()[0]:.2f}")
                results[name] = _measure(target, name, wrk, config, workdir)

    _print_report(config, results, [target.name for target in targets])
    versions = {target.name: target.version() for target in targets}
    write_json(RESULTS_PATH, config, versions, load_average, results)
    print(f"\nwrote {RESULTS_PATH}")
    if config.webhooks:
        webhooks.run(config)
    if config.live:
        live.main(LiveConfig.from_env())
    return 0


def _report_load_average() -> float:
    one_minute = os.getloadavg()[0]
    print(f"load average (1 min) before starting: {one_minute:.2f} on {os.cpu_count()} CPUs")
    if one_minute > BUSY_LOAD_AVERAGE:
        print("warning: the machine is busy; results will be lower and noisier than usual")
    return one_minute


def _measure(target: Target, name: str, wrk: str, config: BenchConfig, workdir: Path) -> Results:
    print(f"\n{name}: starting the server and seeding")
    results: dict[str, WrkResult] = {}
    with target.serve(workdir) as base_url:
        for operation in target.seed(base_url):
            if config.operations is not None and operation.name not in config.operations:
                continue
            # Unmeasured: lets connection pools, lazy imports and caches settle first.
            run_wrk(wrk, base_url, operation, config.warmup_s, workdir)
            cpu_before = target.server_cpu_s()
            result = run_wrk(wrk, base_url, operation, config.duration_s, workdir)
            cpu_after = target.server_cpu_s()
            if cpu_before is not None and cpu_after is not None:
                result = replace(result, server_cpu_s=cpu_after - cpu_before)
            print(
                f"{name}: {operation.name}: {result.requests_per_s:,.0f} req/s, "
                f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
                f"{result.errors} errors, {result.body_errors} errors in 2xx bodies"
            )
            results[operation.name] = result
    return results


def _print_report(config: BenchConfig, results: dict[str, Results], servers: list[str]) -> None:
    setup = (
        f"wrk -t {THREADS} -c {CONNECTIONS}, {config.duration_s} s per operation "
        f"after {config.warmup_s} s warm-up"
    )
    for server, by_operation in results.items():
        print(f"\n### {server} ({setup})\n")
        print(results_table(by_operation))
    if config.rounds > 1:
        print(f"\n### req/s by round, servers taking turns ({setup})\n")
        print(rounds_table(results, servers, config.rounds, per_second=True))
        print(f"\n### server CPU ms per request by round ({setup})\n")
        print(rounds_table(results, servers, config.rounds, per_second=False))
    for peer in servers:
        if peer != "modelreg":
            print(f"\n### modelreg vs {peer} ({setup})\n")
            print(comparison_table(results["modelreg"], results[peer], peer))
    print(
        "\nerrors: non-2xx responses plus socket errors and timeouts. errors in 2xx body: "
        'GraphQL "errors" or MLflow "error_code" in a successful response (for example '
        "INVALID_TRANSITION when two requests race to the same stage)."
    )


if __name__ == "__main__":
    sys.exit(main())
