"""Aliases: per-model names (`champion`) pointing at one version."""

from collections import defaultdict
from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Column, Select, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.dialect import insert_on_conflict
from storage.records import AliasRecord
from storage.tables import aliases, model_versions

_COLUMNS = (aliases.c.model_id, aliases.c.alias, aliases.c.version_id, model_versions.c.version)
_JOINED = select(*_COLUMNS).join(model_versions, model_versions.c.id == aliases.c.version_id)
_ONE = _JOINED.where(
    aliases.c.model_id == bindparam("model_id"), aliases.c.alias == bindparam("alias")
)
_DELETE = (
    delete(aliases)
    .where(aliases.c.model_id == bindparam("model_id"), aliases.c.alias == bindparam("alias"))
    .returning(aliases.c.alias)
)


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
    result = await conn.execute(_DELETE, {"model_id": model_id, "alias": alias})
    return result.first() is not None


@cache
def _aliases_by(owner: Column[int]) -> Select[Any]:
    return (
        _JOINED.add_columns(owner.label("_owner"))
        .where(owner.in_(bindparam("owner_ids", expanding=True)))
        .order_by(owner, aliases.c.alias)
    )


async def _grouped(
    conn: AsyncConnection, owner: Column[int], owner_ids: Sequence[int]
) -> dict[int, list[AliasRecord]]:
    grouped: dict[int, list[AliasRecord]] = defaultdict(list)
    for row in await conn.execute(_aliases_by(owner), {"owner_ids": list(owner_ids)}):
        grouped[row._owner].append(AliasRecord(*row[: len(_COLUMNS)]))
    return grouped


async def aliases_of_models(
    conn: AsyncConnection, model_ids: Sequence[int]
) -> dict[int, list[AliasRecord]]:
    return await _grouped(conn, aliases.c.model_id, model_ids)


async def aliases_of_versions(
    conn: AsyncConnection, version_ids: Sequence[int]
) -> dict[int, list[AliasRecord]]:
    return await _grouped(conn, aliases.c.version_id, version_ids)


async def get_alias(conn: AsyncConnection, model_id: int, alias: str) -> AliasRecord | None:
    row = (await conn.execute(_ONE, {"model_id": model_id, "alias": alias})).first()
    return AliasRecord(*row) if row is not None else None
