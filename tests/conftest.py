"""Fixtures: every storage-touching test runs on SQLite and on PostgreSQL.

PostgreSQL runs when MODELREG_TEST_POSTGRES_URL is set (CI sets it): the
session creates its own database there, migrates it once, truncates it
before each test and drops it at the end, so runs never interfere. Under
CI=true a missing or unreachable PostgreSQL fails the run instead of skipping.
"""

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from resolvers import tokens
from resolvers.errors import Conflict
from server.app import create_app
from server.settings import Settings
from storage.clock import set_clock, utcnow
from storage.database import Database, create_database
from storage.enums import Role, Stage
from storage.migrate import upgrade
from storage.queries import policies
from storage.tables import metadata
from tests.graphql import GraphQLClient
from tests.receiver import Receiver, receiving

POSTGRES_URL_VARIABLE = "MODELREG_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgresql"]
T = TypeVar("T")


def _under_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def postgres_admin_url() -> str | None:
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url and _under_ci():
        pytest.fail(f"CI must test PostgreSQL: set {POSTGRES_URL_VARIABLE}", pytrace=False)
    return url


async def create_scratch_postgres(admin_url: str) -> str:
    """Create an empty database next to `admin_url`'s and return its URL."""
    name = f"modelreg_test_{uuid.uuid4().hex[:12]}"
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        message = f"PostgreSQL at {admin_url} is unreachable: {error}"
        if _under_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    finally:
        await engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


async def drop_postgres(admin_url: str, url: str) -> None:
    name = make_url(url).database
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies (migrating per test is slow)."""
    path = tmp_path_factory.mktemp("template") / "modelreg.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


def in_thread(function: Callable[..., T], *args: Any) -> T:
    """Call `function` in a thread of its own: it may run an event loop, and we may be in one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated database of this session's own (sync: it is requested lazily)."""
    admin_url = postgres_admin_url()
    if admin_url is None:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_URL_VARIABLE} (CI sets it)")
    url = in_thread(asyncio.run, create_scratch_postgres(admin_url))
    try:
        in_thread(upgrade, url)
        yield url
    finally:
        in_thread(asyncio.run, drop_postgres(admin_url, url))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> str:
    """The URL of an empty, migrated database of `backend`, private to this test."""
    if backend == "sqlite":
        path = tmp_path / "modelreg.db"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            names = ", ".join(table.name for table in metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()
    return url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = create_database(database_url)
    try:
        yield database
    finally:
        await database.dispose()


TESTER = "tester"


async def issue_token(
    database: Database, name: str, role: Role = Role.ADMIN, models: tuple[str, ...] = ()
) -> str:
    """A token made straight in the database (as `modelreg token create` does)."""
    issued = await tokens.issue(
        database, name=name, role=role, model_patterns=list(models), expires_in=None, actor="test"
    )
    return issued.token


async def tester_token(database: Database) -> tuple[str, str]:
    """An admin token: named `tester` the first time, uniquely after that."""
    try:
        return TESTER, await issue_token(database, TESTER)
    except Conflict:
        name = f"{TESTER}-{uuid.uuid4().hex[:8]}"
        return name, await issue_token(database, name)


async def open_production_gate(database: Database) -> None:
    """Let PRODUCTION transitions through without approval (the built-in default wants one).

    Tests of the stage rules, webhooks and concurrency promote directly; the
    governance tests keep the default gate (`serving(..., gated=True)`).
    """
    async with database.transaction() as conn:
        await policies.set_policy(
            conn,
            model_id=None,
            stage=Stage.PRODUCTION,
            required_approvals=0,
            required_checks=[],
            actor="test",
            now=utcnow(),
        )


# PostgreSQL replicas must be given the key for webhook secrets (SQLite makes a
# key file beside the database): the in-process apps and the processes that
# tests start on PostgreSQL share this one.
TEST_SECRET_KEY = "6r0KYlpO_7-DQcnry-f3HOba5-Fi6-anoVvFawMCQ-U="


def with_test_key(settings: Settings, database: Database) -> Settings:
    """`settings`, given the tests' key on PostgreSQL when they name none."""
    named = settings.secret_key or settings.secret_key_file
    if database.writer.dialect.name != "postgresql" or named:
        return settings
    return settings.model_copy(update={"secret_key": TEST_SECRET_KEY})


@asynccontextmanager
async def serving(
    database: Database, settings: Settings | None = None, *, gated: bool = False
) -> AsyncIterator[GraphQLClient]:
    """An admin client talking to an in-process app over ASGI (lifespan included)."""
    app = create_app(with_test_key(settings or Settings(), database), database=database)
    name, token = await tester_token(database)
    if not gated:
        await open_production_gate(database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4711))
        async with httpx.AsyncClient(transport=transport, base_url="http://modelreg") as http:
            yield GraphQLClient(http, token, name)


@pytest.fixture
async def api(db: Database) -> AsyncIterator[GraphQLClient]:
    async with serving(db) as client:
        yield client


@pytest.fixture
def frozen_clock() -> Iterator[list[datetime]]:
    """Freeze the registry clock; append to the list to move time forward."""
    times = [datetime(2026, 1, 1, tzinfo=UTC)]
    set_clock(lambda: times[-1])
    try:
        yield times
    finally:
        set_clock(None)


# Webhook deliveries in tests: loopback receivers allowed, retries in
# milliseconds instead of minutes, no jitter, a short attempt timeout.
FAST_WEBHOOKS = Settings(
    webhook_allow_private_networks=True,
    webhook_retry_schedule=(0.05, 0.05, 0.05, 0.05),
    webhook_jitter=0.0,
    webhook_timeout_seconds=1.0,
    webhook_poll_interval_seconds=0.05,
)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving() as started:
        yield started
