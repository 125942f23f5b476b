"""The whole database as plain data, to assert that a failed call changed nothing."""

from typing import Any

from sqlalchemy import select

from storage.database import Database
from storage.tables import metadata


async def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    tables: dict[str, list[tuple[Any, ...]]] = {}
    async with db.read() as conn:
        for table in metadata.sorted_tables:
            rows = await conn.execute(select(table).order_by(*table.primary_key.columns))
            tables[table.name] = [tuple(row) for row in rows]
    return tables
