"""Aliases: per-model names (`champion`) pointing at one version."""

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Column, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.dialect import insert_on_conflict
from storage.records import AliasRecord
from storage.tables import aliases, model_versions

_COLUMNS = (aliases.c.model_id, aliases.c.alias, aliases.c.version_id, model_versions.c.version)


async def set_alias(conn: AsyncConnection, model_id: int, alias: str, version_id: int) -> None:
    """Point `alias` at a version, moving it if it already exists."""
    insert = insert_on_conflict(conn, aliases)
    statement = insert.values(model_id=model_id, alias=alias, version_id=version_id)
    statement = statement.on_conflict_do_update(
        index_elements=[aliases.c.model_id, aliases.c.alias],
        set_={"version_id": insert.excluded.version_id},
    )
    await conn.execute(statement)


async def delete_alias(conn: AsyncConnection, model_id: int, alias: str) -> bool:
    statement = (
        delete(aliases)
        .where(aliases.c.model_id == model_id, aliases.c.alias == alias)
        .returning(aliases.c.alias)
    )
    return (await conn.execute(statement)).first() is not None


async def _aliases_by(
    conn: AsyncConnection, owner: Column[int], owner_ids: Sequence[int]
) -> dict[int, list[AliasRecord]]:
    query = (
        select(*_COLUMNS, owner.label("_owner"))
        .join(model_versions, model_versions.c.id == aliases.c.version_id)
        .where(owner.in_(owner_ids))
        .order_by(owner, aliases.c.alias)
    )
    grouped: dict[int, list[AliasRecord]] = defaultdict(list)
    for row in await conn.execute(query):
        grouped[row._owner].append(AliasRecord(*row[: len(_COLUMNS)]))
    return grouped


async def aliases_of_models(
    conn: AsyncConnection, model_ids: Sequence[int]
) -> dict[int, list[AliasRecord]]:
    return await _aliases_by(conn, aliases.c.model_id, model_ids)


async def aliases_of_versions(
    conn: AsyncConnection, version_ids: Sequence[int]
) -> dict[int, list[AliasRecord]]:
    return await _aliases_by(conn, aliases.c.version_id, version_ids)


async def get_alias(conn: AsyncConnection, model_id: int, alias: str) -> AliasRecord | None:
    query = (
        select(*_COLUMNS)
        .join(model_versions, model_versions.c.id == aliases.c.version_id)
        .where(aliases.c.model_id == model_id, aliases.c.alias == alias)
    )
    row = (await conn.execute(query)).first()
    return AliasRecord(*row) if row is not None else None
