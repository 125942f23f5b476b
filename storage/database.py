"""Engines and connections for SQLite (embedded default) and PostgreSQL (scale-out)."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import event, text
from sqlalchemy.engine import Connection as SyncConnection
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from storage import metrics, sqlite_driver
from storage.defaults import DEFAULT_DATABASE_URL
from storage.quick_reads import QuickReads
from storage.tables import SQLITE_NAME_SEARCH

logger = logging.getLogger("modelreg")

# WAL lets readers run beside the single writer, across processes too.
# synchronous=NORMAL is durable against process crashes (not power loss) in WAL mode.
_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-16000",
    # ANALYZE (and so PRAGMA optimize) samples this many rows per index: a few
    # ms on a million versions instead of seconds, and plans need no more.
    "PRAGMA analysis_limit=1000",
)
# SQLite's planner needs statistics (sqlite_stat1) and never gathers them
# itself. `PRAGMA optimize` analyzes the tables that queries on *this*
# connection would have planned better with them and that changed much since;
# SQLite asks for it when a connection closes, and every few hours on
# long-lived ones (ours live as long as the process).
OPTIMIZE_INTERVAL_S = 3600.0
# The statements of one optimize: it may write sqlite_stat1, and a request
# must never wait for the write lock for it, so it gives up at once instead.
_OPTIMIZE = ("PRAGMA busy_timeout=0", "PRAGMA optimize")
# Then FTS5's incremental merge of the name index (at most ~500 pages of work):
# every model added leaves it a segment more, and a nameContains query looks
# each trigram up in every segment (7x slower at 14 segments than at one, see
# migration 0013). Absent where 0005 found no FTS5: the error is skipped.
_MERGE_NAME_SEARCH = (  # a constant table name, no input
    f"INSERT INTO {SQLITE_NAME_SEARCH}({SQLITE_NAME_SEARCH}, rank) VALUES ('merge', -500)"  # noqa: S608
)


@dataclass(frozen=True, slots=True)
class Database:
    """The registry's database: a reader and a writer engine (the same on PostgreSQL)."""

    url: str
    reader: AsyncEngine
    writer: AsyncEngine
    # Writes that may be skipped (lastUsedAt): they never wait for the write lock.
    # SQLite: its own connection with no busy timeout, outside the writers' queue.
    impatient_writer: AsyncEngine
    # Stops counting pool use in the metrics (see storage/metrics.py).
    unwatch: Callable[[], None] = field(default=lambda: None, repr=False, compare=False)
    # SQLite: quick keyed reads outside the pool (storage/quick_reads.py).
    quick: QuickReads | None = field(default=None, repr=False, compare=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction, committed on success and rolled back on any exception."""
        started = time.perf_counter()
        async with self.writer.begin() as conn:
            if self.writer is not self.reader:  # SQLite: writers queue for one connection
                metrics.QUEUE_WAIT.observe(time.perf_counter() - started)
            yield conn

    @asynccontextmanager
    async def transaction_without_waiting(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction that fails at once when another writer holds the lock.

        For best-effort writes on the read path: a reader must never queue
        behind a writer (SQLite's single write lock, a PostgreSQL row lock).
        The failure is one that `storage.errors.classify` calls BUSY.
        """
        async with self.impatient_writer.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text("SET LOCAL lock_timeout = '50ms'"))
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads; each statement sees the latest committed state."""
        async with self.reader.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        self.unwatch()
        if self.quick is not None:
            self.quick.close()
        await self.reader.dispose()
        for engine in (self.writer, self.impatient_writer):
            if engine is not self.reader:
                await engine.dispose()


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


# orjson instead of json for the JSON columns (metrics, params): decoding them
# was a measurable share of listing versions.
_JSON_CODEC: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}
# Errors and logs never show statement parameters: they can hold webhook secrets.
_ENGINE_OPTIONS: dict[str, Any] = {**_JSON_CODEC, "hide_parameters": True}


def create_database(
    url: str = DEFAULT_DATABASE_URL,
    *,
    pool_size: int = 10,
    busy_timeout_ms: int = 10_000,
    statement_timeout_ms: int = 0,
    echo: bool = False,
    optimize_interval_s: float = OPTIMIZE_INTERVAL_S,
) -> Database:
    """Create the engines for `url` (`sqlite+aiosqlite://...` or `postgresql+asyncpg://...`).

    `statement_timeout_ms` (PostgreSQL; 0: the server's default) cancels any
    statement that runs longer, on every connection of these engines.
    `optimize_interval_s` (SQLite): how often a connection handed back to
    the pool runs `PRAGMA optimize`; it also runs when one closes.
    """
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        # One writer connection per process: in-process writers queue on the pool
        # (cheap, fair) instead of in SQLite's sleeping busy handler.
        writer = _sqlite_engine(
            url, busy_timeout_ms, "BEGIN IMMEDIATE", pool_size=1, queue_writers=True, echo=echo
        )
        _optimize_sqlite(writer, optimize_interval_s, busy_timeout_ms)
        reader = _sqlite_engine(url, busy_timeout_ms, None, pool_size=pool_size, echo=echo)
        _optimize_sqlite(reader, optimize_interval_s, busy_timeout_ms)
        # No busy timeout, no queue, no waiting for its one connection: it fails at once.
        impatient = _sqlite_engine(
            url, 0, "BEGIN IMMEDIATE", pool_size=1, pool_timeout=0, echo=echo
        )
        pools = {"read": reader, "write": writer, "write_nowait": impatient}
        path = make_url(url).database or ":memory:"
        # An in-memory database is one per connection: quick reads would see another.
        quick = QuickReads(path, reader, _SQLITE_PRAGMAS) if path != ":memory:" else None
        return Database(url, reader, writer, impatient, metrics.watch_pools(pools), quick)
    if backend == "postgresql":
        server_settings = (
            {"statement_timeout": str(int(statement_timeout_ms))} if statement_timeout_ms else {}
        )
        engine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            echo=echo,
            connect_args={"server_settings": server_settings},
            **_ENGINE_OPTIONS,
        )
        return Database(url, engine, engine, engine, metrics.watch_pools({"main": engine}))
    raise ValueError(f"unsupported database backend {backend!r}: use sqlite or postgresql")


def _sqlite_engine(
    url: str,
    busy_timeout_ms: int,
    begin: str | None,
    *,
    pool_size: int,
    echo: bool,
    queue_writers: bool = False,
    pool_timeout: float = 30.0,
) -> AsyncEngine:
    path = make_url(url).database or ":memory:"
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0 if begin is not None else pool_size,
        pool_timeout=pool_timeout,
        echo=echo,
        **_ENGINE_OPTIONS,
        async_creator=lambda: sqlite_driver.connect(path, queue_writers=queue_writers),
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so we can BEGIN IMMEDIATE:
        # a deferred BEGIN that later upgrades to a write lock fails with
        # SQLITE_BUSY instead of waiting when another process wrote meanwhile.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: SyncConnection) -> None:
        # Readers run in autocommit (each statement is its own snapshot);
        # writers take the write lock up front.
        if begin is not None:
            # Sent together with the transaction's first statement (one hand-off).
            driver = conn.connection.driver_connection
            assert isinstance(driver, sqlite_driver.OneHopConnection)
            driver.defer_begin(begin)

    return engine


def _optimize_sqlite(engine: AsyncEngine, interval_s: float, busy_timeout_ms: int) -> None:
    """`PRAGMA optimize` when a connection closes and, at most every `interval_s`, on checkin."""
    last_run = time.monotonic()

    def optimize(dbapi_connection: Any) -> None:
        try:
            cursor = dbapi_connection.cursor()
            try:
                for statement in _OPTIMIZE:
                    cursor.execute(statement)
                with contextlib.suppress(sqlite3.OperationalError):  # no FTS5 table
                    cursor.execute(_MERGE_NAME_SEARCH)
            finally:
                cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
                cursor.close()
        except (sqlite3.Error, SQLAlchemyError) as error:
            # Busy, read-only, or a connection closed outside the event loop
            # (garbage collection): the statistics can wait for the next run.
            logger.debug("PRAGMA optimize skipped: %s", error)

    @event.listens_for(engine.sync_engine, "checkin")
    def _periodically(dbapi_connection: Any, _record: Any) -> None:
        nonlocal last_run
        if dbapi_connection is None or time.monotonic() - last_run < interval_s:
            return
        last_run = time.monotonic()
        optimize(dbapi_connection)

    @event.listens_for(engine.sync_engine, "close")
    def _on_close(dbapi_connection: Any, _record: Any) -> None:
        optimize(dbapi_connection)
