"""Key/value tags on models and on versions (same shape, two tables)."""

from collections import defaultdict
from collections.abc import Sequence
from enum import Enum
from functools import cache
from typing import Any

from sqlalchemy import Column, Table, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import ReturningDelete

from storage.dialect import insert_on_conflict
from storage.keyed import KeyedStatement
from storage.records import TagRecord
from storage.tables import model_tags, version_tags


class TagOwner(Enum):
    """What a tag hangs on; the value is (table, owner column name)."""

    MODEL = (model_tags, "model_id")
    VERSION = (version_tags, "version_id")

    @property
    def table(self) -> Table:
        return self.value[0]

    @property
    def owner_column(self) -> Column[int]:
        return self.table.c[self.value[1]]


@cache
def _tags_of(owner: TagOwner) -> KeyedStatement:
    table, column = owner.table, owner.owner_column
    query = select(column, table.c.key, table.c.value).order_by(column, table.c.key)
    return KeyedStatement.build(column, query.where)


@cache
def _delete(owner: TagOwner) -> ReturningDelete[*tuple[Any, ...]]:
    table = owner.table
    return (
        delete(table)
        .where(owner.owner_column == bindparam("owner_id"), table.c.key == bindparam("key"))
        .returning(table.c.key)
    )


@cache
def _upsert(dialect: str, owner: TagOwner) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE for one tag; executed with many rows at once."""
    insert = insert_on_conflict(dialect, owner.table)
    return insert.on_conflict_do_update(
        index_elements=[owner.owner_column, owner.table.c.key],
        set_={"value": insert.excluded.value},
    )


async def set_tags(
    conn: AsyncConnection, owner: TagOwner, owner_id: int, tags: Sequence[tuple[str, str]]
) -> None:
    """Insert or overwrite tags (one statement for all of them)."""
    if not tags:
        return
    rows = [{owner.owner_column.key: owner_id, "key": k, "value": v} for k, v in tags]
    await conn.execute(_upsert(conn.dialect.name, owner), rows)


async def delete_tag(conn: AsyncConnection, owner: TagOwner, owner_id: int, key: str) -> bool:
    """Delete a tag; False when there was none."""
    result = await conn.execute(_delete(owner), {"owner_id": owner_id, "key": key})
    return result.first() is not None


async def tags_of(
    conn: AsyncConnection, owner: TagOwner, owner_ids: Sequence[int]
) -> dict[int, list[TagRecord]]:
    """Tags per owner, sorted by key."""
    grouped: dict[int, list[TagRecord]] = defaultdict(list)
    for owner_id, key, value in await _tags_of(owner).execute(conn, owner_ids):
        grouped[owner_id].append(TagRecord(owner_id, key, value))
    return grouped


async def count_other_tags(conn: AsyncConnection, owner: TagOwner, owner_id: int, key: str) -> int:
    """How many tags the owner has besides `key` (the primary key index answers it)."""
    table, column = owner.table, owner.owner_column
    query = select(func.count()).where(column == owner_id, table.c.key != key)
    return int((await conn.execute(query)).scalar_one())
