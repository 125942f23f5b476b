"""A locked, read-only, slow or unreachable database: reads go on, writes fail clearly.

A locked or read-only database gives a clear, retryable error, never
INTERNAL_SERVER_ERROR (DESIGN.md, hostile input), and reads never wait for
a writer: not even the lastUsedAt bookkeeping of their token.
"""

import asyncio
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from resolvers.errors import database_error
from server.app import create_app
from server.settings import Settings
from storage.clock import utcnow
from storage.database import Database, create_database
from storage.errors import DatabaseProblem, classify
from storage.tables import api_tokens
from tests.conftest import issue_token, serving, with_test_key
from tests.graphql import GraphQLClient
from tests.snapshot import snapshot

VIEWER = "{ viewer { name } }"
MODELS = "{ models(first: 5) { totalCount edges { node { name } } } }"
CREATE_MODEL = 'mutation { createModel(input: {name: "locked-out"}) { model { name } } }'
BUSY_TIMEOUT_MS = 1000

# A second process that holds SQLite's write lock until its stdin closes, as a
# backup tool or a careless `sqlite3` shell would.
_HOLD_EXCLUSIVE = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
connection.execute("ROLLBACK")
"""


@asynccontextmanager
async def exclusive_lock(path: Path) -> AsyncIterator[None]:
    """Another process holds SQLite's write lock on `path` inside the block.

    Waited for off the event loop: the app under test runs on this loop, and
    a transaction of its in flight (the dispatcher's, a readiness check's)
    could not finish, and release the lock, while the loop waited here.
    """
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _HOLD_EXCLUSIVE,
        str(path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert (await holder.stdout.readline()).decode().strip() == "locked"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        await asyncio.wait_for(holder.wait(), 30)


def sqlite_file(database_url: str) -> Path:
    return Path(str(make_url(database_url).database))


async def last_used(db: Database, name: str) -> Any:
    async with db.read() as conn:
        query = select(api_tokens.c.last_used_at).where(api_tokens.c.name == name)
        return (await conn.execute(query)).scalar_one()


async def idle_token(db: Database, name: str) -> str:
    """A token last used two minutes ago: its next use wants to write lastUsedAt."""
    token = await issue_token(db, name)
    async with db.transaction() as conn:
        await conn.execute(
            update(api_tokens)
            .where(api_tokens.c.name == name)
            .values(last_used_at=utcnow() - timedelta(minutes=2))
        )
    return token


async def timed(client: GraphQLClient, query: str) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    response = await client.post(query)
    return time.monotonic() - started, response.json()


def the_error(body: dict[str, Any]) -> dict[str, Any]:
    assert len(body.get("errors", [])) == 1, body
    error: dict[str, Any] = body["errors"][0]
    assert "Traceback" not in str(body)
    return error


@pytest.fixture
async def busy_db(database_url: str) -> AsyncIterator[Database]:
    database = create_database(database_url, busy_timeout_ms=BUSY_TIMEOUT_MS)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_held_write_lock_lets_reads_through_and_fails_writes_as_busy(
    busy_db: Database, database_url: str
) -> None:
    async with serving(busy_db) as api:
        await api.data(VIEWER)
        idle = api.as_token(await idle_token(busy_db, "idle"), "idle")
        stale = await last_used(busy_db, "idle")
        before = await snapshot(busy_db)
        async with exclusive_lock(sqlite_file(database_url)):
            # The idle token would write lastUsedAt: that must neither wait nor fail.
            for client in (idle, api):
                for query in (VIEWER, MODELS):
                    elapsed, body = await timed(client, query)
                    assert "errors" not in body, body
                    assert elapsed < BUSY_TIMEOUT_MS / 2000, f"{query} waited {elapsed:.2f} s"
            assert await last_used(busy_db, "idle") == stale  # skipped, not waited for

            elapsed, body = await timed(api, CREATE_MODEL)
            error = the_error(body)
            assert error["extensions"] == {"code": "DATABASE_BUSY", "retryable": True}
            assert "retry" in error["message"]
            # One busy timeout for the mutation; its audit row does not wait for another.
            assert elapsed < 1.8 * BUSY_TIMEOUT_MS / 1000
        assert await snapshot(busy_db) == before
        # Once the lock is free the bookkeeping catches up, and writes work again.
        await idle.data(VIEWER)
        assert await last_used(busy_db, "idle") != stale
        assert (await api.data(CREATE_MODEL))["createModel"]["model"]["name"] == "locked-out"


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_readiness_says_a_held_write_lock_makes_the_database_unwritable(
    db: Database, database_url: str
) -> None:
    async with serving(db) as api:
        ready = await api.http.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert {name: check["ok"] for name, check in ready.json()["checks"].items()} == {
            "database": True,
            "migrated": True,
            "writable": True,
            "dispatcher": True,
        }
        async with exclusive_lock(sqlite_file(database_url)):
            started = time.monotonic()
            locked = await api.http.get("/readyz")
            assert time.monotonic() - started < 2
            healthy = await api.http.get("/healthz")
        assert locked.status_code == 503
        body = locked.json()
        assert body["status"] == "unavailable"
        assert body["checks"]["database"]["ok"]
        assert body["checks"]["migrated"]["ok"]
        assert body["checks"]["writable"] == {
            "ok": False,
            "detail": "the write lock was held elsewhere for over 100 ms",
        }
        assert healthy.status_code == 200  # liveness never looks at the database
        assert (await api.http.get("/readyz")).status_code == 200


async def test_readiness_says_when_the_schema_is_behind(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    database = create_database(f"sqlite+aiosqlite:///{path}")
    try:
        async with serving_unmigrated(database) as response:
            assert response.status_code == 503
            checks = response.json()["checks"]
            assert checks["database"]["ok"]
            assert not checks["migrated"]["ok"]
            assert "modelreg db upgrade" in checks["migrated"]["detail"]
    finally:
        await database.dispose()


@asynccontextmanager
async def serving_unmigrated(database: Database) -> AsyncIterator[Any]:
    """GET /readyz of an app whose lifespan has not run (it would refuse the schema)."""
    app = create_app(Settings(), database=database)
    app.state.db = database
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://modelreg") as http:
        yield await http.get("/readyz")


@asynccontextmanager
async def locked_models_table(database_url: str) -> AsyncIterator[None]:
    """Another session holds an exclusive lock on `models` (a long migration, a stuck job)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("LOCK TABLE models IN ACCESS EXCLUSIVE MODE"))
            yield
            await conn.rollback()
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_statement_past_the_statement_timeout_is_query_timeout(database_url: str) -> None:
    db = create_database(database_url, statement_timeout_ms=300)
    try:
        async with db.read() as conn:
            assert (await conn.execute(text("SHOW statement_timeout"))).scalar_one() == "300ms"
        async with serving(db) as api:
            before = await snapshot(db)
            async with locked_models_table(database_url):
                for query in (MODELS, CREATE_MODEL):
                    elapsed, body = await timed(api, query)
                    error = the_error(body)
                    assert error["extensions"] == {"code": "QUERY_TIMEOUT", "retryable": True}
                    assert elapsed < 3
            assert await snapshot(db) == before
            await api.data(CREATE_MODEL)
    finally:
        await db.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_the_statement_timeout_setting_reaches_every_connection(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Settings().db_statement_timeout_ms == 30_000
    monkeypatch.setenv("MODELREG_DB_STATEMENT_TIMEOUT_MS", "1234")
    settings = Settings(database_url=database_url, webhook_dispatcher=False)
    db = create_database(database_url, statement_timeout_ms=settings.db_statement_timeout_ms)
    off = create_database(database_url, statement_timeout_ms=0)
    try:
        async with db.read() as conn, db.transaction() as writer:
            assert (await conn.execute(text("SHOW statement_timeout"))).scalar_one() == "1234ms"
            assert (await writer.execute(text("SHOW statement_timeout"))).scalar_one() == "1234ms"
        async with off.read() as conn:
            assert (await conn.execute(text("SHOW statement_timeout"))).scalar_one() == "0"
    finally:
        await db.dispose()
        await off.dispose()


READ_ONLY_SETTING = "default_transaction_read_only"


@asynccontextmanager
async def read_only_postgres(database_url: str) -> AsyncIterator[None]:
    """The database refuses writes to new sessions, as a hot standby does."""
    name = make_url(database_url).database
    admin = create_async_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(
                text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
            )
        try:
            yield
        finally:
            async with admin.connect() as conn:
                await conn.execute(
                    text(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
                )
    finally:
        await admin.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_read_only_postgres_serves_reads_and_refuses_writes(database_url: str) -> None:
    setup = create_database(database_url)
    try:
        token = await idle_token(setup, "reader")
    finally:
        await setup.dispose()
    async with read_only_postgres(database_url):
        db = create_database(database_url)  # fresh sessions: read-only
        try:
            async with serving_read_only(db, token) as api:
                assert (await api.data(VIEWER))["viewer"]["name"] == "reader"
                error = the_error((await api.post(CREATE_MODEL)).json())
                assert error["extensions"] == {"code": "DATABASE_READ_ONLY", "retryable": False}
                ready = await api.http.get("/readyz")
                assert ready.status_code == 503
                writable = ready.json()["checks"]["writable"]
                assert writable["ok"] is False
                assert "read-only" in writable["detail"]
        finally:
            await db.dispose()
        async with create_async_engine(database_url).connect() as conn:
            count = await conn.execute(text("SELECT count(*) FROM models"))
            assert count.scalar_one() == 0


@asynccontextmanager
async def serving_read_only(db: Database, token: str) -> AsyncIterator[GraphQLClient]:
    """Like `serving`, without the setup writes a read-only database would refuse."""
    app = create_app(with_test_key(Settings(), db), database=db)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://modelreg") as http:
            yield GraphQLClient(http, token, "reader")


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_an_unreachable_database_is_database_unavailable(db: Database) -> None:
    gone = create_database("postgresql+asyncpg://postgres@127.0.0.1:1/unreachable")
    try:
        async with serving(db, Settings(auth="disabled")) as api:
            transport = api.http._transport
            assert isinstance(transport, httpx.ASGITransport)
            transport.app.state.db = gone  # type: ignore[attr-defined]
            try:
                for query in (MODELS, CREATE_MODEL):
                    error = the_error((await api.post(query)).json())
                    assert error["extensions"] == {
                        "code": "DATABASE_UNAVAILABLE",
                        "retryable": True,
                    }
            finally:
                transport.app.state.db = db  # type: ignore[attr-defined]
    finally:
        await gone.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_token_that_cannot_be_looked_up_is_a_503(db: Database) -> None:
    """Authentication needs the database too: its failure is retryable, not a masked 500."""
    gone = create_database("postgresql+asyncpg://postgres@127.0.0.1:1/unreachable")
    try:
        async with serving(db, Settings(auth_cache_seconds=0)) as api:
            transport = api.http._transport
            assert isinstance(transport, httpx.ASGITransport)
            transport.app.state.db = gone  # type: ignore[attr-defined]
            try:
                response = await api.post(MODELS)
            finally:
                transport.app.state.db = db  # type: ignore[attr-defined]
    finally:
        await gone.dispose()
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert the_error(response.json())["extensions"] == {
        "code": "DATABASE_UNAVAILABLE",
        "retryable": True,
    }


def test_driver_errors_are_classified() -> None:
    locked = sqlite3.OperationalError("database is locked")
    assert classify(locked) is DatabaseProblem.BUSY
    assert classify(sqlite3.OperationalError("attempt to write a readonly database")) is (
        DatabaseProblem.READ_ONLY
    )

    class PostgresError(Exception):
        def __init__(self, sqlstate: str) -> None:
            self.sqlstate = sqlstate

    expected = {
        "57014": DatabaseProblem.TIMEOUT,
        "55P03": DatabaseProblem.BUSY,
        "40P01": DatabaseProblem.BUSY,
        "25006": DatabaseProblem.READ_ONLY,
        "53300": DatabaseProblem.UNAVAILABLE,
        "57P03": DatabaseProblem.UNAVAILABLE,
        "08006": DatabaseProblem.UNAVAILABLE,
        "23505": None,  # a unique violation is a bug or a conflict, not the database's state
    }
    for sqlstate, problem in expected.items():
        wrapped = RuntimeError("adapted")
        wrapped.__cause__ = PostgresError(sqlstate)
        assert classify(wrapped) is problem, sqlstate
    assert classify(ConnectionRefusedError(111, "refused")) is DatabaseProblem.UNAVAILABLE
    assert classify(PermissionError(13, "denied")) is DatabaseProblem.READ_ONLY
    assert classify(KeyError("x")) is None
    busy = database_error(locked)
    assert busy is not None
    assert busy.extensions == {"code": "DATABASE_BUSY", "retryable": True}
