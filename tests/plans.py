"""The plans of the statements a call really runs: captured, then EXPLAINed on the same database."""

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.tables import model_tags, model_versions, models, stage_history

NOW = datetime(2026, 1, 1, tzinfo=UTC)
Statement = tuple[str, Any]


@asynccontextmanager
async def capturing(conn: AsyncConnection) -> AsyncIterator[list[Statement]]:
    """The SQL text and parameters of every statement run on `conn`'s engine meanwhile."""
    found: list[Statement] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        found.append((statement, parameters))

    engine = conn.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", capture)


async def sqlite_plan(conn: AsyncConnection, statement: Statement) -> list[str]:
    """EXPLAIN QUERY PLAN: one line per step ("SEARCH t USING INDEX i (a=?)", ...)."""
    sql, parameters = statement
    rows = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", parameters)
    return [str(row._mapping["detail"]) for row in rows]


async def postgres_plan(conn: AsyncConnection, statement: Statement) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, FORMAT JSON): the statement runs and reports what it read."""
    sql, parameters = statement
    rows = await conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", parameters)
    document = rows.scalar_one()
    plan: dict[str, Any] = (json.loads(document) if isinstance(document, str) else document)[0]
    return plan["Plan"]  # type: ignore[no-any-return]


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def rows_read(plan: dict[str, Any], table: str) -> int:
    """Rows of `table` that the plan's scans produced or read and threw away, over all loops."""
    total = 0
    for node in nodes(plan):
        if node.get("Relation Name") == table:
            loops = node.get("Actual Loops", 1)
            kept = node.get("Actual Rows", 0)
            dropped = node.get("Rows Removed by Filter", 0) + node.get(
                "Rows Removed by Index Recheck", 0
            )
            total += (kept + dropped) * loops
    return total


def index_names(plan: dict[str, Any]) -> set[str]:
    return {str(node["Index Name"]) for node in nodes(plan) if "Index Name" in node}


async def insert_models(conn: AsyncConnection, wanted: list[tuple[int, str, int]]) -> None:
    """Models (id, name, number of versions), each newest version in PRODUCTION and the
    rest ARCHIVED, each version staged, promoted and archived: three history rows each."""
    model_rows = [
        {
            "id": model_id,
            "name": name,
            "description": "",
            "last_version": count,
            "created_at": NOW,
            "updated_at": NOW,
            "created_by": "t",
            "updated_by": "t",
        }
        for model_id, name, count in wanted
    ]
    await conn.execute(insert(models), model_rows)
    version_rows: list[dict[str, Any]] = [
        {
            "model_id": model_id,
            "version": v,
            "stage": "PRODUCTION" if v == count else "ARCHIVED",
            "source": f"s3://m/{v}",
            "description": "",
            "metrics": {},
            "params": {},
            "created_at": NOW,
            "updated_at": NOW,
            "created_by": "t",
            "updated_by": "t",
        }
        for model_id, _, count in wanted
        for v in range(1, count + 1)
    ]
    await conn.execute(insert(model_versions), version_rows)
    history = [
        {
            "model_id": model_id,
            "version": v,
            "from_stage": before,
            "to_stage": after,
            "cause": "transition",
            "actor": "t",
            "created_at": NOW,
        }
        for model_id, _, count in wanted
        for v in range(1, count + 1)
        for before, after in _STORY
    ]
    await conn.execute(insert(stage_history), history)


_STORY = (("NONE", "STAGING"), ("STAGING", "PRODUCTION"), ("PRODUCTION", "ARCHIVED"))


async def insert_tags(conn: AsyncConnection, rows: list[tuple[int, str, str]]) -> None:
    if rows:
        await conn.execute(
            insert(model_tags), [{"model_id": m, "key": k, "value": v} for m, k, v in rows]
        )


async def analyze(conn: AsyncConnection) -> None:
    """Statistics, as after any bulk import (README, Scale)."""
    await conn.execute(text("ANALYZE"))
