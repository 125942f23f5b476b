"""Migration 0004 (protected aliases) goes up and down on both backends and keeps requests.

On SQLite it rebuilds `transition_requests` (batch mode): the requests, their
reviews and constraints must come through.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

from storage.database import create_database
from storage.migrate import alembic_config, upgrade
from storage.tables import transition_requests, transition_reviews
from tests.conftest import create_scratch_postgres, drop_postgres, in_thread, postgres_admin_url
from tests.test_migrations import _differences

NOW = datetime(2026, 1, 1, tzinfo=UTC)


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


async def test_0004_up_and_down_keeps_stage_requests(empty_url: str) -> None:
    await _run(upgrade, empty_url, "0003")
    db = create_database(empty_url)
    try:
        async with db.transaction() as conn:
            await conn.execute(
                text(
                    "INSERT INTO models (id, name, description, last_version, created_at, "
                    "updated_at, created_by, updated_by) VALUES (1, 'fraud', '', 1, :now, :now, "
                    "'t', 't')"
                ),
                {"now": NOW},
            )
            await conn.execute(
                text(
                    "INSERT INTO transition_requests (id, model_id, version, from_stage, "
                    "to_stage, archive_existing, status, requested_by, created_at, updated_at) "
                    "VALUES (1, 1, 1, 'NONE', 'PRODUCTION', false, 'PENDING', 'w', :now, :now)"
                ),
                {"now": NOW},
            )
            await conn.execute(
                text(
                    "INSERT INTO transition_reviews (request_id, kind, actor, created_at) "
                    "VALUES (1, 'APPROVED', 'm', :now)"
                ),
                {"now": NOW},
            )
        await db.dispose()

        await _run(upgrade, empty_url, "head")
        db = create_database(empty_url)

        async with db.read() as conn:
            row = (await conn.execute(select(transition_requests))).one()
            assert (row.from_stage, row.to_stage, row.alias, row.removes_alias) == (
                "NONE",
                "PRODUCTION",
                None,
                False,
            )
            reviews = await conn.execute(select(func.count()).select_from(transition_reviews))
            assert reviews.scalar_one() == 1
            assert await conn.run_sync(_differences) == []
        alias_request = {
            "id": 2,
            "model_id": 1,
            "version": 1,
            "alias": "champion",
            "archive_existing": False,
            "status": "PENDING",
            "requested_by": "w",
            "created_at": NOW,
            "updated_at": NOW,
        }
        async with db.transaction() as conn:
            await conn.execute(insert(transition_requests), alias_request)
        # A request names a stage or an alias, never both, never neither.
        with pytest.raises(IntegrityError):
            async with db.transaction() as conn:
                await conn.execute(
                    insert(transition_requests), {**alias_request, "id": 3, "alias": None}
                )
        await db.dispose()

        await _run(downgrade, empty_url, "0003")
        db = create_database(empty_url)
        async with db.read() as conn:
            ids = (await conn.execute(text("SELECT id FROM transition_requests"))).scalars()
            assert list(ids) == [1]
            reviews = await conn.execute(text("SELECT count(*) FROM transition_reviews"))
            assert reviews.scalar_one() == 1
        await db.dispose()

        await _run(upgrade, empty_url, "head")
        db = create_database(empty_url)
        async with db.read() as conn:
            assert await conn.run_sync(_differences) == []
    finally:
        await db.dispose()
