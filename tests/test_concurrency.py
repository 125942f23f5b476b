"""Invariants under real races: separate engines, so requests contend in the database."""

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from sqlalchemy import select

from storage.database import Database, create_database
from storage.tables import model_versions, stage_history
from tests.conftest import serving
from tests.graphql import CREATE_VERSION, TRANSITION, GraphQLClient, register

REPLICAS = 5


@pytest.fixture
async def replicas(database_url: str) -> AsyncIterator[list[GraphQLClient]]:
    """Several app instances, each with its own engines, like server processes."""
    async with AsyncExitStack() as stack:
        clients = []
        for _ in range(REPLICAS):
            database = create_database(database_url)
            stack.push_async_callback(database.dispose)
            clients.append(await stack.enter_async_context(serving(database)))
        yield clients


async def fan_out(
    clients: list[GraphQLClient], query: str, inputs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    calls = [
        clients[i % len(clients)].data(query, {"input": payload})
        for i, payload in enumerate(inputs)
    ]
    return await asyncio.gather(*calls)


async def test_concurrent_registrations_get_versions_1_to_50(
    replicas: list[GraphQLClient], db: Database
) -> None:
    inputs = [{"modelName": "raced", "source": f"s3://runs/{i}"} for i in range(50)]
    results = await fan_out(replicas, CREATE_VERSION, inputs)
    numbers = sorted(r["createModelVersion"]["modelVersion"]["version"] for r in results)
    assert numbers == list(range(1, 51))
    async with db.read() as conn:
        stored = (await conn.execute(select(model_versions.c.version))).scalars().all()
    assert sorted(stored) == list(range(1, 51))


async def test_concurrent_promotions_leave_one_production_and_a_chained_history(
    replicas: list[GraphQLClient], db: Database
) -> None:
    await register(replicas[0], "raced", 20)
    inputs = [{"modelName": "raced", "version": v, "stage": "PRODUCTION"} for v in range(1, 21)]
    results = await fan_out(replicas, TRANSITION, inputs)

    async with db.read() as conn:
        stages = dict(
            (await conn.execute(select(model_versions.c.version, model_versions.c.stage))).all()
        )
        rows = (await conn.execute(select(stage_history).order_by(stage_history.c.id))).all()
    in_production = [v for v, stage in stages.items() if stage == "PRODUCTION"]
    assert len(in_production) == 1
    assert sorted(v for v, stage in stages.items() if stage == "ARCHIVED") == sorted(
        set(range(1, 21)) - set(in_production)
    )

    # Each promotion archived exactly the version promoted just before it.
    promoted = [r.version for r in rows if r.to_stage == "PRODUCTION"]
    assert sorted(promoted) == list(range(1, 21))
    assert promoted[-1] == in_production[0]
    previous = None
    for row, following in zip(rows, [*rows[1:], None], strict=True):
        if row.to_stage == "ARCHIVED":
            assert row.version == previous
            assert row.cause == "archive_existing"
            assert following is not None
            assert following.to_stage == "PRODUCTION"
        else:
            previous = row.version
    assert len(rows) == 20 + 19

    # And every response told the truth about what it archived.
    archived_by = {
        r["transitionStage"]["modelVersion"]["version"]: [
            a["version"] for a in r["transitionStage"]["archived"]
        ]
        for r in results
    }
    for before, after in itertools.pairwise(promoted):
        assert archived_by[after] == [before]
    assert archived_by[promoted[0]] == []
