"""The whole database as plain data, to assert that a failed call changed nothing."""

from typing import Any

from sqlalchemy import select

from storage.database import Database
from storage.tables import metadata

# A refused call is meant to leave a trace there (tests assert it separately),
# and a token's lastUsedAt moves with every call.
BOOKKEEPING = {"audit_log", "api_tokens"}


async def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every registry table except the audit log and token bookkeeping."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    async with db.read() as conn:
        for table in metadata.sorted_tables:
            if table.name in BOOKKEEPING:
                continue
            rows = await conn.execute(select(table).order_by(*table.primary_key.columns))
            tables[table.name] = [tuple(row) for row in rows]
    return tables
