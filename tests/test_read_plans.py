"""Reads cost a page, not a history: the plans of the statements they run, on both backends.

SQLite: EXPLAIN QUERY PLAN shows index searches and no sort of a whole history
(no temp B-tree, no window). PostgreSQL: EXPLAIN ANALYZE shows how many rows
each statement read, which must be about a page, not the model's 2,000 versions.
"""

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.database import Database
from storage.enums import RequestStatus, Stage
from storage.pagination import PageRequest
from storage.queries import (
    history,
    history_at,
    model_filters,
    models,
    transition_requests,
    versions,
)
from storage.queries.history_at import HeldAt
from storage.queries.models import ModelFilter, ModelOrder
from storage.tables import alias_history, model_versions, stage_history
from storage.tables import transition_requests as transition_requests_table
from tests.plans import (
    NOW,
    analyze,
    capturing,
    index_names,
    insert_models,
    insert_tags,
    nodes,
    postgres_plan,
    rows_read,
    sqlite_plan,
)

BIG = 2_000
PAGE = 25


@pytest.fixture
async def loaded(db: Database) -> Database:
    """Two models of 2,000 versions (6,000 history rows each) and a small one."""
    async with db.transaction() as conn:
        await insert_models(conn, [(1, "big-a", BIG), (2, "big-b", BIG), (3, "small", 3)])
    async with db.transaction() as conn:
        await analyze(conn)
    return db


async def _check_sqlite_page(
    conn: AsyncConnection, statements: list[Any], table: str, allow_sorting: bool = False
) -> None:
    for statement in statements:
        plan = await sqlite_plan(conn, statement)
        text = "\n".join(plan)
        assert f"SEARCH {table} USING" in text, text
        assert f"SCAN {table}" not in text, text
        # (A GROUP BY of the rows found may sort them: a few rows.)
        assert allow_sorting or "TEMP B-TREE" not in text, text
        assert "CO-ROUTINE" not in text, text  # no window over a subquery


async def _check_postgres_page(
    conn: AsyncConnection, statements: list[Any], table: str, owners: int, first: int
) -> None:
    for statement in statements:
        plan = await postgres_plan(conn, statement)
        kinds = {node["Node Type"] for node in nodes(plan)}
        assert "WindowAgg" not in kinds
        scans = {node["Node Type"] for node in nodes(plan) if node.get("Relation Name") == table}
        assert "Seq Scan" not in scans
        # Each owner's page and its one extra row, never the 2,000 versions.
        assert rows_read(plan, table) <= owners * (first + 1), plan


async def _check_page(
    db: Database,
    call: Any,
    table: str,
    owners: int,
    first: int = PAGE,
    allow_sorting: bool = False,
) -> Any:
    async with db.read() as conn:
        async with capturing(conn) as statements:
            result = await call(conn)
        assert statements
        if conn.dialect.name == "sqlite":
            await _check_sqlite_page(conn, statements, table, allow_sorting)
        else:
            await _check_postgres_page(conn, statements, table, owners, first)
    return result


async def test_a_models_versions_page_reads_a_page(loaded: Database) -> None:
    newest = PageRequest(PAGE, descending=True)
    found = await _check_page(
        loaded, lambda c: versions.version_pages(c, [1], None, newest), "model_versions", 1
    )
    assert [v.version for v in found[1]] == list(range(BIG, BIG - PAGE - 1, -1))
    later = PageRequest(PAGE, after=(1000,), descending=True)
    found = await _check_page(
        loaded, lambda c: versions.version_pages(c, [1], None, later), "model_versions", 1
    )
    assert [v.version for v in found[1]] == list(range(999, 999 - PAGE - 1, -1))


async def test_a_batch_of_version_pages_reads_a_page_per_model(loaded: Database) -> None:
    page = PageRequest(10, after=(1500,), descending=True)
    found = await _check_page(
        loaded,
        lambda c: versions.version_pages(c, [1, 2, 3], Stage.ARCHIVED, page),
        "model_versions",
        3,
        first=10,
    )
    assert [v.version for v in found[1]] == list(range(1499, 1488, -1))
    assert [v.version for v in found[2]] == list(range(1499, 1488, -1))
    assert [v.version for v in found[3]] == [2, 1]


async def test_history_pages_read_a_page(loaded: Database) -> None:
    newest = PageRequest(PAGE, descending=True)
    found = await _check_page(
        loaded, lambda c: history.history_pages(c, [1], newest), "stage_history", 1
    )
    assert [(h.version, h.to_stage) for h in found[1][:3]] == [
        (BIG, Stage.ARCHIVED),
        (BIG, Stage.PRODUCTION),
        (BIG, Stage.STAGING),
    ]
    found = await _check_page(
        loaded, lambda c: history.history_pages(c, [1, 2], newest), "stage_history", 2
    )
    assert len(found[1]) == len(found[2]) == PAGE + 1
    found = await _check_page(
        loaded,
        lambda c: history.version_history_pages(c, [(1, 7), (2, 9)], newest),
        "stage_history",
        2,
    )
    assert [h.version for h in found[(1, 7)]] == [7, 7, 7]
    assert [h.version for h in found[(2, 9)]] == [9, 9, 9]


async def test_requests_of_versions_read_their_limit(loaded: Database) -> None:
    async with loaded.transaction() as conn:
        # A request per version of both big models: 4,000 rows, one PENDING.
        rows = [
            {
                "model_id": model_id,
                "version": version,
                "from_stage": "ARCHIVED",
                "to_stage": "PRODUCTION",
                "archive_existing": False,
                "status": "PENDING" if (model_id, version) == (1, 7) else "COMPLETED",
                "requested_by": "t",
                "created_at": NOW,
                "updated_at": NOW,
            }
            for model_id in (1, 2)
            for version in range(1, BIG + 1)
        ]
        await conn.execute(insert(transition_requests_table), rows)
        await analyze(conn)
    found = await _check_page(
        loaded,
        lambda c: transition_requests.requests_of_versions(
            c, [(1, 7), (2, 7)], RequestStatus.PENDING, limit=100
        ),
        "transition_requests",
        2,
        first=100,
    )
    assert [r.version for r in found[(1, 7)]] == [7]
    assert (2, 7) not in found


# --- Filters ---------------------------------------------------------------

FILTERS: dict[str, tuple[ModelFilter, str, str]] = {
    # name: (filter, the index PostgreSQL uses, what SQLite's plan shows)
    "prefix": (
        ModelFilter(name_prefix="m0123"),
        "ix_models_name_c",
        "sqlite_autoindex_models_1 (name>? AND name<?)",
    ),
    "contains": (
        ModelFilter(name_contains="FraudWatch"),
        "ix_models_name_trgm",
        "models_name_search VIRTUAL TABLE",
    ),
    "tags": (
        ModelFilter(tags=(("owner", "risk"),)),
        "ix_model_tags_key_value_model_id",
        "ix_model_tags_key_value_model_id (key=? AND value=?)",
    ),
    "stage": (
        ModelFilter(has_version_in_stage=Stage.STAGING),
        "ix_model_versions_stage_model_id",
        "ix_model_versions_stage_model_id (stage=?)",
    ),
}


async def _filter_registry(db: Database) -> None:
    """20,000 models (enough that PostgreSQL prefers an index to reading the table): 2 with
    a rare name part, 3 owned by `risk`, 4 of the 2,000 with versions have one in STAGING.
    Names are m00000 to m19999 in a scattered order, so that ids do not follow names."""
    wanted = [
        (
            10 + i,
            f"m{i * 7919 % 20_000:05d}{'-fraudwatch' if i in (5, 1500) else ''}",
            2 * (i < 2000),
        )
        for i in range(20_000)
    ]
    async with db.transaction() as conn:
        await insert_models(conn, wanted)
        await insert_tags(conn, [(10 + i, "team", "ab"[i % 2]) for i in range(20_000)])
        await insert_tags(conn, [(10 + i, "owner", "risk") for i in (3, 900, 1700)])
        await conn.execute(
            model_versions.update()
            .where(model_versions.c.model_id.in_([11, 600, 1100, 1999]))
            .where(model_versions.c.version == 1)
            .values(stage="STAGING")
        )
    async with db.transaction() as conn:
        await analyze(conn)


@pytest.mark.parametrize("kind", sorted(FILTERS))
async def test_filters_are_read_from_their_index(db: Database, kind: str) -> None:
    await _filter_registry(db)
    model_filter, postgres_index, sqlite_step = FILTERS[kind]
    async with db.read() as conn:
        async with capturing(conn) as statements:
            found = await models.list_models(conn, model_filter, ModelOrder.NAME, PageRequest(25))
        assert found
        if conn.dialect.name == "sqlite":
            plans = [await sqlite_plan(conn, s) for s in statements]
            assert any(sqlite_step in step for plan in plans for step in plan), plans
            # A full walk of the models table would be a SCAN of it (or of its name index).
            walks = [step for plan in plans for step in plan if re.match(r"SCAN models\b", step)]
            assert not walks, plans
        else:
            used = set()
            for statement in statements:
                used |= index_names(await postgres_plan(conn, statement))
            assert postgres_index in used, used


async def test_scans_and_index_driven_pages_find_the_same_models(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The census picks the plan; both plans answer the same, whatever the filter's values."""
    names = ["Fraud-a", "fraud_b", "fraudXb", "ab%c", "a/b", "zeta", "é-x"]
    async with db.transaction() as conn:
        await insert_models(conn, [(100 + i, name, 1) for i, name in enumerate(names)])
        await insert_tags(
            conn, [(100, "k", "v"), (101, "k", "v"), (101, "j", "w"), (102, "j", "w")]
        )
    cases = [
        (ModelFilter(name_contains="fraud"), ["Fraud-a", "fraudXb", "fraud_b"]),
        (ModelFilter(name_contains="d_b"), ["fraud_b"]),
        (ModelFilter(name_contains="b%"), ["ab%c"]),
        (ModelFilter(name_contains="/b"), ["a/b"]),
        (ModelFilter(name_contains="ra"), ["Fraud-a", "fraudXb", "fraud_b"]),
        (ModelFilter(name_prefix="fraud"), ["fraudXb", "fraud_b"]),
        (ModelFilter(name_prefix="\U0010ffff"), []),
        (ModelFilter(tags=(("k", "v"),)), ["Fraud-a", "fraud_b"]),
        (ModelFilter(tags=(("k", "v"), ("j", "w"))), ["fraud_b"]),
        (ModelFilter(tags=(("k", "v"), ("k", "w"))), []),
        (
            ModelFilter(has_version_in_stage=Stage.PRODUCTION, name_contains="rau"),
            ["Fraud-a", "fraudXb", "fraud_b"],
        ),
        (ModelFilter(has_version_in_stage=Stage.STAGING), []),
    ]
    for census_limit in (model_filters.CENSUS_LIMIT, 0):
        # 0: every filter counts as common, so every page scans.
        monkeypatch.setattr(model_filters, "CENSUS_LIMIT", census_limit)
        for model_filter, expected in cases:
            async with db.read() as conn:
                found = await models.list_models(
                    conn, model_filter, ModelOrder.NAME, PageRequest(50)
                )
                count = await models.count_models(conn, model_filter)
            # (Sets: the order of "F" and "_" depends on PostgreSQL's collation.)
            assert sorted(m.name for m in found) == sorted(expected), (census_limit, model_filter)
            assert count == len(expected), (census_limit, model_filter)


async def test_the_name_search_follows_new_and_deleted_models(db: Database) -> None:
    async with db.transaction() as conn:
        await insert_models(conn, [(1, "needle-one", 1), (2, "needle-two", 1)])
    async with db.transaction() as conn:
        await models.delete_model(conn, 1)
    async with db.read() as conn:
        found = await models.list_models(
            conn, ModelFilter(name_contains="needle"), ModelOrder.NAME, PageRequest(10)
        )
    assert [m.name for m in found] == ["needle-two"]


@pytest.mark.parametrize(
    ("prefix", "end"),
    [
        ("abc", "abd"),
        ("a-", "a."),
        ("z", "{"),
        ("a\U0010ffff", "b"),
        # Nothing follows U+10FFFF: more of it than a name can hold is above every name.
        ("\U0010ffff", "\U0010ffff" * (model_filters.NAME_MAX + 2)),
        ("a\ud7ff", "a\ue000"),
    ],
)
def test_prefix_end_is_above_every_name_with_the_prefix(prefix: str, end: str) -> None:
    assert model_filters.prefix_end(prefix) == end


async def test_versions_addressed_by_pairs_read_only_their_rows(loaded: Database) -> None:
    """(name or model, version) pairs and each model's latest version: index lookups only.

    `(a, b) IN (VALUES ...)` made SQLite scan every version for two pairs, and
    PostgreSQL read every version of each named model.
    """
    calls = {
        "by name": lambda c: versions.get_versions_by_name(c, [("big-a", 7), ("big-b", 1999)]),
        "by number": lambda c: versions.get_versions_by_number(c, [(1, 7), (2, 1999)]),
        "latest": lambda c: versions.latest_versions(c, [1, 2]),
    }
    for name, call in calls.items():
        found = await _check_page(loaded, call, "model_versions", 2, first=1)
        assert len(found) == 2, name
    counts = await _check_page(
        loaded,
        lambda c: history.count_version_history(c, [(1, 7), (2, 1999)]),
        "stage_history",
        2,
        first=3,
        allow_sorting=True,
    )
    assert counts == {(1, 7): 3, (2, 1999): 3}


# --- History at a point in time ---------------------------------------------


async def _long_history(db: Database) -> None:
    """Model 1: versions 1..2,000, version v promoted (and v-1 archived) and @champion moved
    to it at NOW + v minutes; model 3: small, never promoted."""
    async with db.transaction() as conn:
        await insert_models(conn, [(1, "big-a", BIG), (3, "small", 3)])
        await conn.execute(delete(stage_history))
        changes = []
        for v in range(1, BIG + 1):
            at = NOW + timedelta(minutes=v)
            if v > 1:
                changes.append(_history_row(v - 1, "PRODUCTION", "ARCHIVED", at))
            changes.append(_history_row(v, "NONE", "PRODUCTION", at))
        await conn.execute(insert(stage_history), changes)
        moves = [
            {
                "model_id": 1,
                "alias": "champion",
                "from_version": v - 1 or None,
                "to_version": v,
                "cause": "set",
                "actor": "t",
                "created_at": NOW + timedelta(minutes=v),
            }
            for v in range(1, BIG + 1)
        ]
        await conn.execute(insert(alias_history), moves)
    async with db.transaction() as conn:
        await analyze(conn)


def _history_row(version: int, before: str, after: str, at: datetime) -> dict[str, Any]:
    return {
        "model_id": 1,
        "version": version,
        "from_stage": before,
        "to_stage": after,
        "cause": "transition",
        "actor": "t",
        "created_at": at,
    }


@pytest.mark.parametrize("target", ["production", "alias"])
async def test_history_at_reads_a_few_rows_not_the_history(db: Database, target: str) -> None:
    await _long_history(db)
    at = NOW + timedelta(minutes=1000, seconds=30)
    table = "stage_history" if target == "production" else "alias_history"

    async def lookup(conn: AsyncConnection, model_ids: list[int]) -> dict[int, HeldAt]:
        if target == "production":
            return await history_at.production_at(conn, model_ids, at)
        return await history_at.alias_at(conn, model_ids, "champion", at)

    for model_ids in ([1], [1, 3]):
        async with db.read() as conn:
            async with capturing(conn) as statements:
                found = await lookup(conn, model_ids)
            assert found[1].version == 1000
            if target == "production":
                assert found[1].left_at == NOW + timedelta(minutes=1001)
            assert 3 not in found
            (statement,) = statements
            if conn.dialect.name == "sqlite":
                text = "\n".join(await sqlite_plan(conn, statement))
                assert f"SCAN {table}" not in text, text
                assert "SCAN entry" not in text, text
                assert "TEMP B-TREE" not in text, text
            else:
                plan = await postgres_plan(conn, statement)
                scans = {n["Node Type"] for n in nodes(plan) if n.get("Relation Name") == table}
                assert "Seq Scan" not in scans, plan
                # A promotion, the next change of its version: a few rows per model.
                assert rows_read(plan, table) <= 4 * len(model_ids), plan
