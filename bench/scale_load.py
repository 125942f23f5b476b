"""Bulk-load the scale benchmark's rows straight into a migrated database, then check them.

SQLite: one transaction of executemany batches on the stdlib driver.
PostgreSQL: binary COPY with asyncpg, then the id sequences moved past the
loaded ids. Both then check the registry's invariants (one PRODUCTION version
per model, version counters equal to the versions there are, the expected
number of rows); `analyze_*` run ANALYZE, as the README asks after any bulk import.
"""

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import asyncpg

from bench.scale_data import (
    COLUMNS,
    TABLE_ROWS,
    ModelPlan,
    expected_history_rows,
)

BATCH = 50_000
SEQUENCED_TABLES = ("models", "model_versions", "stage_history", "transition_requests")

# Each query counts rows that break an invariant: all must be 0.
INVARIANTS = {
    "models without exactly one PRODUCTION version": """
        SELECT count(*) FROM models m WHERE (SELECT count(*) FROM model_versions v
        WHERE v.model_id = m.id AND v.stage = 'PRODUCTION') <> 1""",
    "models whose version counter is not their highest version": """
        SELECT count(*) FROM models m WHERE m.last_version <> (SELECT max(v.version)
        FROM model_versions v WHERE v.model_id = m.id)""",
    "models whose versions have gaps": """
        SELECT count(*) FROM models m WHERE m.last_version <> (SELECT count(*)
        FROM model_versions v WHERE v.model_id = m.id)""",
}


def _batches(rows: Iterable[tuple[object, ...]]) -> Iterator[list[tuple[object, ...]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, BATCH)):
        yield batch


def _sqlite_value(value: object) -> object:
    # SQLAlchemy's SQLite DateTime stores naive UTC text in this format.
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def load_sqlite(path: Path, plans: list[ModelPlan]) -> dict[str, int]:
    """Insert every table's rows in one transaction; the row count per table."""
    counts: dict[str, int] = {}
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-200000")
        connection.execute("BEGIN IMMEDIATE")
        for table, rows in TABLE_ROWS.items():
            columns = COLUMNS[table]
            # Table and column names are this module's constants, never input.
            names, marks = ", ".join(columns), ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
            counts[table] = 0
            for batch in _batches(rows(plans)):
                connection.executemany(sql, [tuple(map(_sqlite_value, row)) for row in batch])
                counts[table] += len(batch)
        connection.execute("COMMIT")
    finally:
        connection.close()
    return counts


def check_sqlite(path: Path, plans: list[ModelPlan]) -> None:
    """Raise unless the loaded rows keep the registry's invariants."""
    connection = sqlite3.connect(path)
    try:
        _check(lambda sql: int(connection.execute(sql).fetchone()[0]), plans)
    finally:
        connection.close()


def analyze_sqlite(path: Path) -> float:
    """ANALYZE every table and index; the seconds it took."""
    connection = sqlite3.connect(path)
    try:
        started = time.monotonic()
        connection.execute("ANALYZE")
        connection.commit()
        return time.monotonic() - started
    finally:
        connection.close()


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _load_postgres(url: str, plans: list[ModelPlan]) -> dict[str, int]:
    counts: dict[str, int] = {}
    connection = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        async with connection.transaction():
            for table, rows in TABLE_ROWS.items():
                counts[table] = 0
                for batch in _batches(rows(plans)):
                    await connection.copy_records_to_table(
                        table, records=batch, columns=list(COLUMNS[table])
                    )
                    counts[table] += len(batch)
            for table in SEQUENCED_TABLES:
                next_id = f"(SELECT coalesce(max(id), 0) + 1 FROM {table})"  # noqa: S608
                await connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {next_id}, false)"
                )
    finally:
        await connection.close()
    return counts


def load_postgres(url: str, plans: list[ModelPlan]) -> dict[str, int]:
    return asyncio.run(_load_postgres(url, plans))


async def _check_postgres(url: str, plans: list[ModelPlan]) -> None:
    connection = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        found: dict[str, int] = {}
        for name, sql in _queries(plans).items():
            found[name] = int(await connection.fetchval(sql))
        _verify(found, plans)
    finally:
        await connection.close()


def check_postgres(url: str, plans: list[ModelPlan]) -> None:
    """Raise unless the loaded rows keep the registry's invariants."""
    asyncio.run(_check_postgres(url, plans))


async def _analyze_postgres(url: str) -> float:
    connection = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        started = time.monotonic()
        await connection.execute("VACUUM (ANALYZE)")
        return time.monotonic() - started
    finally:
        await connection.close()


def analyze_postgres(url: str) -> float:
    """VACUUM (ANALYZE) every table: statistics, and the visibility map that index-only
    scans need (autovacuum would otherwise do it in the middle of a measurement)."""
    return asyncio.run(_analyze_postgres(url))


def _queries(plans: list[ModelPlan]) -> dict[str, str]:
    return {
        **INVARIANTS,
        "versions": "SELECT count(*) FROM model_versions",
        "history rows": "SELECT count(*) FROM stage_history",
    }


def _check(count: Callable[[str], int], plans: list[ModelPlan]) -> None:
    _verify({name: count(sql) for name, sql in _queries(plans).items()}, plans)


def _verify(found: dict[str, int], plans: list[ModelPlan]) -> None:
    expected = dict.fromkeys(INVARIANTS, 0)
    expected["versions"] = sum(m.versions for m in plans)
    expected["history rows"] = expected_history_rows(plans)
    wrong = {name: (found[name], want) for name, want in expected.items() if found[name] != want}
    if wrong:
        raise RuntimeError(f"loaded registry breaks its invariants (found, expected): {wrong}")
    print(f"  invariants hold: {found['versions']:,} versions, {found['history rows']:,} history")
