"""Migration 0005 (read indexes) goes up over existing rows and down again, on both backends."""

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from storage.database import create_database
from storage.migrate import alembic_config, upgrade
from storage.pagination import PageRequest
from storage.queries import models
from storage.queries.models import ModelFilter, ModelOrder
from storage.tables import POSTGRESQL_ONLY_INDEXES, SQLITE_NAME_SEARCH
from tests.conftest import create_scratch_postgres, drop_postgres, in_thread, postgres_admin_url
from tests.plans import insert_models
from tests.test_migrations import _differences

NEW_INDEXES = {
    "model_versions": "ix_model_versions_stage_model_id",
    "model_tags": "ix_model_tags_key_value_model_id",
    "transition_requests": "ix_transition_requests_model_id_version_id",
}


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    admin_url = postgres_admin_url()
    if admin_url is None:
        pytest.skip("PostgreSQL tests need MODELREG_TEST_POSTGRES_URL (CI sets it)")
    url = await create_scratch_postgres(admin_url)
    try:
        yield url
    finally:
        await drop_postgres(admin_url, url)


async def _run(function: Callable[..., None], *args: str) -> None:
    await asyncio.to_thread(in_thread, function, *args)


def _schema_objects(conn: Connection) -> set[str]:
    inspector = inspect(conn)
    names = set(inspector.get_table_names())
    for table in ("models", *NEW_INDEXES):
        names |= {str(index["name"]) for index in inspector.get_indexes(table)}
    return names


async def test_0005_indexes_existing_rows_and_goes_down_again(empty_url: str) -> None:
    await _run(upgrade, empty_url, "0004")
    db = create_database(empty_url)
    try:
        async with db.transaction() as conn:
            await insert_models(conn, [(1, "churn-FraudWatch-1", 2), (2, "ads-ranker", 1)])
        await _run(upgrade, empty_url, "head")
        async with db.read() as conn:
            # The name search holds the models that existed before it.
            found = await models.list_models(
                conn, ModelFilter(name_contains="fraudwatch"), ModelOrder.NAME, PageRequest(5)
            )
            assert [m.name for m in found] == ["churn-FraudWatch-1"]
            assert await conn.run_sync(_differences) == []
            objects = await conn.run_sync(_schema_objects)
        assert set(NEW_INDEXES.values()) <= objects
        if db.writer.dialect.name == "postgresql":
            assert objects >= POSTGRESQL_ONLY_INDEXES
        else:
            assert SQLITE_NAME_SEARCH in objects

        await _run(downgrade, empty_url, "0004")
        async with db.read() as conn:
            objects = await conn.run_sync(_schema_objects)
        assert not objects & (set(NEW_INDEXES.values()) | POSTGRESQL_ONLY_INDEXES)
        assert not {name for name in objects if name.startswith(SQLITE_NAME_SEARCH)}

        await _run(upgrade, empty_url, "head")
        async with db.read() as conn:
            assert await conn.run_sync(_differences) == []
            found = await models.list_models(
                conn, ModelFilter(name_contains="ranker"), ModelOrder.NAME, PageRequest(5)
            )
        assert [m.name for m in found] == ["ads-ranker"]
    finally:
        await db.dispose()
