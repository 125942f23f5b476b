"""How long `modelreg import mlflow` takes: a seeded MLflow server into SQLite and PostgreSQL.

`python -m bench.mlflow_import` seeds MLflow (bench/mlflow_server.py) with
BENCH_IMPORT_MODELS models of BENCH_IMPORT_VERSIONS versions each (tags, an
alias, stages), then times the first import into an empty registry and a
second one (which changes nothing) on each backend. PostgreSQL is used when
BENCH_POSTGRES_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/postgres)
answers; the benchmark makes and drops its own database there.
"""

import asyncio
import io
import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench import mlflow_server
from server.mlflow_import.command import run_import
from server.mlflow_import.reader import Credentials
from storage.migrate import upgrade

API = "/api/2.0/mlflow"
POSTGRES_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def seed(url: str, models: int, versions: int) -> None:
    with httpx.Client(base_url=url + API, timeout=60.0) as client:

        def post(path: str, body: dict[str, object]) -> None:
            response = client.post(path, json=body)
            response.raise_for_status()

        for m in range(models):
            name = f"model-{m:03d}"
            tags = [{"key": "team", "value": f"team-{m % 5}"}, {"key": "tier", "value": "gold"}]
            post("/registered-models/create", {"name": name, "tags": tags})
            for v in range(1, versions + 1):
                post(
                    "/model-versions/create",
                    {
                        "name": name,
                        "source": f"s3://models/{name}/{v}",
                        "run_id": f"run{v}",
                        "tags": [{"key": "week", "value": str(v)}],
                    },
                )
            stage = {"name": name, "archive_existing_versions": False}
            post(
                "/model-versions/transition-stage",
                {**stage, "version": str(versions), "stage": "Production"},
            )
            post("/model-versions/transition-stage", {**stage, "version": "1", "stage": "Staging"})
            post("/registered-models/alias", {"name": name, "alias": "champion", "version": "1"})


@dataclass(frozen=True, slots=True)
class Timing:
    wall_s: float
    # CPU of this process only (reading MLflow's JSON, the registry's work and its
    # SQLite): on a loaded machine the wall time says more about the neighbours.
    cpu_s: float

    def __str__(self) -> str:
        return f"{self.wall_s:.1f} s ({self.cpu_s:.1f} s CPU)"


async def timed_imports(url: str, database_url: str) -> tuple[Timing, Timing, int]:
    """How long the first import and a second one took, and what the first changed."""
    quiet = io.StringIO()
    timings = []
    summaries = []
    for _ in range(2):
        wall, cpu = time.perf_counter(), time.process_time()
        _, summary = await run_import(url, Credentials(), database_url, progress_stream=quiet)
        timings.append(Timing(time.perf_counter() - wall, time.process_time() - cpu))
        summaries.append(summary)
    first, second = summaries
    if first.refused or second.changes:
        raise RuntimeError(f"the benchmark's import must succeed: {first.refused}")
    return timings[0], timings[1], first.changes


async def _admin(admin_url: str, statement: str) -> None:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


def main() -> None:
    models = int(os.environ.get("BENCH_IMPORT_MODELS", "50"))
    versions = int(os.environ.get("BENCH_IMPORT_VERSIONS", "20"))
    mlflow_server.install()
    with (
        tempfile.TemporaryDirectory() as scratch,
        mlflow_server.serving(Path(scratch), workers=1) as url,
    ):
        started = time.perf_counter()
        seed(url, models, versions)
        print(
            f"seeded {models} models x {versions} versions in {time.perf_counter() - started:.1f} s"
        )
        sqlite_url = f"sqlite+aiosqlite:///{scratch}/modelreg.db"
        upgrade(sqlite_url)
        report("sqlite", *asyncio.run(timed_imports(url, sqlite_url)))
        admin_url = os.environ.get("BENCH_POSTGRES_URL", POSTGRES_ADMIN_URL)
        name = f"modelreg_import_{uuid.uuid4().hex[:8]}"
        try:
            asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
        except OSError as error:
            print(f"postgresql: skipped, {admin_url} is unreachable: {error}")
            return
        try:
            pg_url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
            upgrade(pg_url)
            report("postgresql", *asyncio.run(timed_imports(url, pg_url)))
        finally:
            asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def report(backend: str, first: Timing, second: Timing, changes: int) -> None:
    print(f"{backend}: first import {first}, {changes} changes; second {second}, none")


if __name__ == "__main__":
    main()
