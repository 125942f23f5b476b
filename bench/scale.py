"""Does every read cost the same at a million versions as at a thousand? Measure it.

Run from the repository root:

    make bench-scale                                  # 1k, 100k and 1M versions, both backends
    BENCH_SCALE_SIZES=1k,100k make bench-scale        # smaller sizes only
    BENCH_SCALE_BACKENDS=sqlite make bench-scale      # one backend
    BENCH_DURATION=5 make bench-scale                 # seconds per read (default 10)
    BENCH_BASELINE=c5bb80f make bench-scale           # also that commit, before 0005

(`make bench-scale` runs `.venv/bin/python -m bench.scale`.) PostgreSQL: the
benchmark creates and drops its own database next to BENCH_POSTGRES_URL
(default postgresql+asyncpg://postgres@127.0.0.1:5432/postgres).

For each backend and size, one after the other: a fresh database migrated to
0004, the registry of bench/scale_data.py bulk-loaded straight into its tables
(executemany on SQLite, COPY on PostgreSQL), the invariants checked (one
PRODUCTION version per model, version counters), `modelreg db upgrade` to the
head (timed: the read indexes of 0005 are built over the loaded rows), ANALYZE
(PostgreSQL: VACUUM (ANALYZE)),
then a real `modelreg serve` with 2 workers per size, all serving at once,
measured with wrk (2 threads, 8 connections) for each operation of
bench/scale_reads.py: BENCH_WARMUP seconds unmeasured on each size, then
BENCH_DURATION seconds on each size in turn, BENCH_SCALE_ROUNDS times (3;
the order of the sizes alternates), keeping each size's median. Taking turns
read by read puts the sizes of one read seconds apart, so a machine whose
speed drifts by a third over minutes (this one) moves them together.
Results: Markdown tables with req/s, p50 and p99 per size and the req/s of
the largest size over the others, and .bench/scale-results.json (every
run's req/s too).

BENCH_BASELINE=<git ref> also measures that commit's server on the same rows,
before the upgrade: its source is extracted with `git archive` under .bench/
and run with this checkout's virtualenv (PYTHONPATH first), so it must need no
other dependencies and no migration past 0004.
"""

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import asyncpg
import httpx
from cryptography.fernet import Fernet

from bench import scale_load, scale_reads
from bench.baseline import commit_of
from bench.config import BENCH_DIR, REPO_ROOT, ScaleConfig
from bench.operation import Operation
from bench.report import markdown
from bench.scale_data import plan
from bench.server_process import free_port, running_server
from bench.token import MODELREG, auth_headers, create_admin_token
from bench.wrk import WrkResult, ensure_wrk, run_wrk
from storage.migrate import upgrade

RESULTS_PATH = BENCH_DIR / "scale-results.json"
WORKERS = 2
STARTUP_TIMEOUT_S = 120.0
BEFORE_READ_INDEXES = "0004"


@dataclass
class SizeResult:
    versions: int
    models: int
    rows: dict[str, int]
    load_s: float
    migrate_s: float
    analyze_s: float
    reads: dict[str, WrkResult] = field(default_factory=dict)
    # The baseline commit's figures on the same rows (BENCH_BASELINE).
    reads_before: dict[str, WrkResult] = field(default_factory=dict)
    # Rows (GraphQL nodes) in each read's answer: at 1k a filter may match fewer than a page.
    rows_per_read: dict[str, int] = field(default_factory=dict)
    # req/s of every round, in the order measured (`reads` holds the median one).
    read_runs: dict[str, list[float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Served:
    """A `modelreg serve` of one size, with the reads to send it."""

    base_url: str
    reads: dict[str, Operation]


def main() -> int:
    config = ScaleConfig.from_env()
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    wrk = ensure_wrk()
    BENCH_DIR.mkdir(exist_ok=True)
    baseline = _extract(config.baseline) if config.baseline else None
    results: dict[str, dict[int, SizeResult]] = {}
    for backend in config.backends:
        results[backend] = _measure(backend, config, wrk, baseline)
    for backend, by_size in results.items():
        print(f"\n### {backend}\n")
        print(setup_table(by_size))
        print()
        print(reads_table(by_size))
        if config.baseline:
            print(f"\nBefore ({config.baseline}) and after, req/s:\n")
            print(before_after_table(by_size))
    _write_json(config, results)
    print(f"\nwrote {RESULTS_PATH}")
    return 0


def _measure(
    backend: str, config: ScaleConfig, wrk: str, baseline: Path | None
) -> dict[int, SizeResult]:
    """Every size loaded and served at once, then each read measured on the sizes in turn."""
    with ExitStack() as stack:
        prepared: dict[int, tuple[SizeResult, dict[str, str], Path, int]] = {}
        for size in config.sizes:
            print(f"\n== {backend}, {size:,} versions")
            prepared[size] = _prepare(stack, backend, size, config, wrk, baseline)
        served: dict[int, Served] = {}
        for size, (result, env, workdir, big_versions) in prepared.items():
            served[size] = stack.enter_context(
                _serving(env, workdir, big_versions, [str(MODELREG)], result.rows_per_read)
            )
        results = {size: found[0] for size, found in prepared.items()}
        workdir = prepared[config.sizes[0]][2]
        print(f"\n== {backend}: each read on each size in turn, {config.rounds} rounds")
        for name in served[config.sizes[0]].reads:
            _measure_read(name, served, results, config, wrk, workdir)
        return results


def _measure_read(
    name: str,
    served: dict[int, Served],
    results: dict[int, SizeResult],
    config: ScaleConfig,
    wrk: str,
    workdir: Path,
) -> None:
    sizes = list(served)
    for size in sizes:
        run_wrk(wrk, served[size].base_url, served[size].reads[name], config.warmup_s, workdir)
    runs: dict[int, list[WrkResult]] = {size: [] for size in sizes}
    for turn in range(config.rounds):
        for size in sizes if turn % 2 == 0 else reversed(sizes):
            operation = served[size].reads[name]
            result = run_wrk(wrk, served[size].base_url, operation, config.duration_s, workdir)
            if result.errors or result.body_errors:
                raise RuntimeError(f"{name} at {size:,}: failed requests: {result}")
            runs[size].append(result)
    for size in sizes:
        ordered = sorted(runs[size], key=lambda r: r.requests_per_s)
        results[size].reads[name] = ordered[(len(ordered) - 1) // 2]
        results[size].read_runs[name] = [r.requests_per_s for r in runs[size]]
    line = ", ".join(
        f"{_label(size)} {results[size].reads[name].requests_per_s:,.0f} req/s "
        f"({' '.join(f'{r.requests_per_s:,.0f}' for r in runs[size])})"
        for size in sizes
    )
    print(f"  {name}: {line}")


def _prepare(
    stack: ExitStack,
    backend: str,
    size: int,
    config: ScaleConfig,
    wrk: str,
    baseline: Path | None,
) -> tuple[SizeResult, dict[str, str], Path, int]:
    """A database of `size` loaded, checked, upgraded and analyzed; kept until `stack` closes."""
    plans = plan(size)
    workdir = BENCH_DIR / f"scale-{backend}-{size}"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    stack.callback(shutil.rmtree, workdir, ignore_errors=True)
    url = stack.enter_context(_database(backend, size, config, workdir))
    upgrade(url, BEFORE_READ_INDEXES)
    started = time.monotonic()
    if backend == "sqlite":
        rows = scale_load.load_sqlite(workdir / "scale.db", plans)
    else:
        rows = scale_load.load_postgres(url, plans)
    load_s = time.monotonic() - started
    print(f"  loaded {rows} in {load_s:.1f} s")
    if backend == "sqlite":
        scale_load.check_sqlite(workdir / "scale.db", plans)
    else:
        scale_load.check_postgres(url, plans)
    env = _server_env(url, backend)
    big_versions = max(m.versions for m in plans)
    reads_before: dict[str, WrkResult] = {}
    if baseline is not None:
        _analyze(backend, url, workdir)
        print(f"  baseline {config.baseline}:")
        # PYTHONSAFEPATH: `-m` (and each worker) must not put the cwd,
        # this checkout, before the baseline's source.
        before_env = {**env, "PYTHONPATH": str(baseline), "PYTHONSAFEPATH": "1"}
        command = [sys.executable, "-m", "server.cli"]
        with _serving(before_env, workdir, big_versions, command) as before:
            for name, operation in before.reads.items():
                run_wrk(wrk, before.base_url, operation, config.warmup_s, workdir)
                reads_before[name] = run_wrk(
                    wrk, before.base_url, operation, config.duration_s, workdir
                )
    migrate_s = _timed_upgrade(env)
    print(f"  modelreg db upgrade (0004 -> head): {migrate_s:.1f} s")
    analyze_s = _analyze(backend, url, workdir)
    print(f"  ANALYZE: {analyze_s:.1f} s")
    result = SizeResult(
        versions=rows["model_versions"],
        models=rows["models"],
        rows=rows,
        load_s=load_s,
        migrate_s=migrate_s,
        analyze_s=analyze_s,
        reads_before=reads_before,
    )
    return result, env, workdir, big_versions


def _analyze(backend: str, url: str, workdir: Path) -> float:
    if backend == "sqlite":
        return scale_load.analyze_sqlite(workdir / "scale.db")
    return scale_load.analyze_postgres(url)


def _extract(ref: str) -> Path:
    """The source of `ref`, extracted once under .bench/ (git archive: the repository is
    left as it is)."""
    commit = commit_of(ref)
    target = BENCH_DIR / f"scale-baseline-{commit}"
    if not (target / "server" / "cli.py").exists():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", "--format=tar", commit],
            cwd=REPO_ROOT,
            capture_output=True,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


@contextmanager
def _database(backend: str, size: int, config: ScaleConfig, workdir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'scale.db'}"
        return
    name = f"modelreg_scale_{size}"
    admin = config.postgres_admin_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    asyncio.run(_postgres_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(_postgres_admin(admin, f'CREATE DATABASE "{name}"'))
    try:
        base = config.postgres_admin_url.rsplit("/", 1)[0]
        yield f"{base}/{name}"
    finally:
        asyncio.run(_postgres_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _postgres_admin(dsn: str, statement: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _server_env(url: str, backend: str) -> dict[str, str]:
    env = {**os.environ, "MODELREG_DATABASE_URL": url}
    if backend == "postgresql" and not env.get("MODELREG_SECRET_KEY"):
        # PostgreSQL replicas must be given the key for webhook secrets.
        env["MODELREG_SECRET_KEY"] = Fernet.generate_key().decode()
    return env


def _timed_upgrade(env: dict[str, str]) -> float:
    started = time.monotonic()
    done = subprocess.run(
        [MODELREG, "db", "upgrade"], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"modelreg db upgrade failed:\n{done.stderr}")
    return time.monotonic() - started


@contextmanager
def _serving(
    env: dict[str, str],
    workdir: Path,
    big_versions: int,
    modelreg: list[str],
    rows_per_read: dict[str, int] | None = None,
) -> Iterator[Served]:
    """`modelreg serve` on `env`'s database with the reads to send it (and their answer sizes)."""
    name = f"bench-{len(list(workdir.glob('*.log')))}"
    headers = auth_headers(create_admin_token(env, name=name))
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    command = [*modelreg, "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(WORKERS)]
    log = workdir / f"{name}.log"
    with running_server(command, env, f"{base_url}/healthz", log, STARTUP_TIMEOUT_S):
        with httpx.Client(base_url=base_url, timeout=30.0, headers=headers) as client:
            cursor = scale_reads.first_page_cursor(client)
            reads = scale_reads.operations(headers, cursor, big_versions)
            if rows_per_read is not None:
                for operation in reads:
                    rows_per_read[operation.name] = scale_reads.rows_in_answer(client, operation)
        yield Served(base_url, {operation.name: operation for operation in reads})


def _label(size: int) -> str:
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    return f"{size // 1_000}k" if size % 1_000 == 0 else str(size)


def setup_table(by_size: dict[int, SizeResult]) -> str:
    header = ["size", "models", "history rows", "load s", "upgrade 0004 to head s", "ANALYZE s"]
    rows = [
        [
            _label(size),
            f"{r.models:,}",
            f"{r.rows['stage_history']:,}",
            f"{r.load_s:.1f}",
            f"{r.migrate_s:.1f}",
            f"{r.analyze_s:.1f}",
        ]
        for size, r in by_size.items()
    ]
    return markdown(header, rows)


def reads_table(by_size: dict[int, SizeResult]) -> str:
    """req/s, p50, p99 and rows answered per size; req/s of the largest size over the others."""
    sizes = list(by_size)
    largest = max(sizes)
    header = ["read"]
    for size in sizes:
        header += [f"{_label(size)} req/s", "p50 ms", "p99 ms", "rows"]
    header += [f"{_label(largest)}/{_label(size)}" for size in sizes if size != largest]
    rows = []
    for name in by_size[min(sizes)].reads:
        row = [name]
        for size in sizes:
            found = by_size[size].reads[name]
            rows_answered = by_size[size].rows_per_read.get(name)
            row += [
                f"{found.requests_per_s:,.0f}",
                f"{found.p50_ms:.1f}",
                f"{found.p99_ms:.1f}",
                "" if rows_answered is None else str(rows_answered),
            ]
        top = by_size[largest].reads[name].requests_per_s
        row += [
            f"{top / by_size[size].reads[name].requests_per_s:.2f}"
            for size in sizes
            if size != largest
        ]
        rows.append(row)
    return markdown(header, rows)


def before_after_table(by_size: dict[int, SizeResult]) -> str:
    sizes = list(by_size)
    smallest, largest = min(sizes), max(sizes)
    header = ["read"]
    for size in sizes:
        header += [f"{_label(size)} before", f"{_label(size)} after"]
    header += [f"{_label(largest)}/{_label(smallest)} before", "after"]
    rows = []
    for name in by_size[smallest].reads:
        row = [name]
        for size in sizes:
            before = by_size[size].reads_before[name].requests_per_s
            row += [f"{before:,.0f}", f"{by_size[size].reads[name].requests_per_s:,.0f}"]
        for reads in ("reads_before", "reads"):
            small = getattr(by_size[smallest], reads)[name].requests_per_s
            row.append(f"{getattr(by_size[largest], reads)[name].requests_per_s / small:.2f}")
        rows.append(row)
    return markdown(header, rows)


def _write_json(config: ScaleConfig, results: dict[str, dict[int, SizeResult]]) -> None:
    document = {
        "config": asdict(config) | {"postgres_admin_url": "(not recorded)"},
        "results": {
            backend: {
                str(size): asdict(result)
                | {"reads": {n: asdict(r) for n, r in result.reads.items()}}
                for size, result in by_size.items()
            }
            for backend, by_size in results.items()
        },
    }
    RESULTS_PATH.write_text(json.dumps(document, indent=2) + "\n")


def _result_json(result: SizeResult) -> dict[str, object]:
    return asdict(result)


if __name__ == "__main__":
    raise SystemExit(main())
