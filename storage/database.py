"""Engines and connections for SQLite (embedded default) and PostgreSQL (scale-out)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import Connection as SyncConnection
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from storage import sqlite_driver

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./modelreg.db"

# WAL lets readers run beside the single writer, across processes too.
# synchronous=NORMAL is durable against process crashes (not power loss) in WAL mode.
_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-16000",
)


@dataclass(frozen=True, slots=True)
class Database:
    """The registry's database: a reader and a writer engine (the same on PostgreSQL)."""

    url: str
    reader: AsyncEngine
    writer: AsyncEngine

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction, committed on success and rolled back on any exception."""
        async with self.writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads; each statement sees the latest committed state."""
        async with self.reader.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        await self.reader.dispose()
        if self.writer is not self.reader:
            await self.writer.dispose()


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
    echo: bool = False,
) -> Database:
    """Create the engines for `url` (`sqlite+aiosqlite://...` or `postgresql+asyncpg://...`)."""
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        # One writer connection per process: in-process writers queue on the pool
        # (cheap, fair) instead of in SQLite's sleeping busy handler.
        writer = _sqlite_engine(url, busy_timeout_ms, "BEGIN IMMEDIATE", pool_size=1, echo=echo)
        reader = _sqlite_engine(url, busy_timeout_ms, None, pool_size=pool_size, echo=echo)
        return Database(url=url, reader=reader, writer=writer)
    if backend == "postgresql":
        engine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            echo=echo,
            **_ENGINE_OPTIONS,
        )
        return Database(url=url, reader=engine, writer=engine)
    raise ValueError(f"unsupported database backend {backend!r}: use sqlite or postgresql")


def _sqlite_engine(
    url: str, busy_timeout_ms: int, begin: str | None, *, pool_size: int, echo: bool
) -> AsyncEngine:
    path = make_url(url).database or ":memory:"
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0 if begin is not None else pool_size,
        echo=echo,
        **_ENGINE_OPTIONS,
        async_creator=lambda: sqlite_driver.connect(path, queue_writers=begin is not None),
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
