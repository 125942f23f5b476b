"""Model versions: rows, stages and batched per-model lookups."""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.enums import Stage
from storage.pagination import PageRequest, keyset_pages_per_owner
from storage.records import VersionRecord
from storage.rows import AnyRow
from storage.tables import model_versions, models

_COLUMNS = (
    model_versions.c.id,
    model_versions.c.model_id,
    model_versions.c.version,
    model_versions.c.stage,
    model_versions.c.source,
    model_versions.c.run_id,
    model_versions.c.digest,
    model_versions.c.description,
    model_versions.c.metrics,
    model_versions.c.params,
    model_versions.c.created_at,
    model_versions.c.updated_at,
    model_versions.c.created_by,
    model_versions.c.updated_by,
)


def _record(row: AnyRow) -> VersionRecord:
    values = list(row[: len(_COLUMNS)])
    values[3] = Stage(values[3])
    return VersionRecord(*values)


async def insert_version(
    conn: AsyncConnection,
    *,
    model_id: int,
    version: int,
    source: str,
    run_id: str | None,
    digest: str | None,
    description: str,
    metrics: Mapping[str, float],
    params: Mapping[str, str],
    actor: str,
    now: datetime,
) -> VersionRecord:
    values: dict[str, Any] = {
        "model_id": model_id,
        "version": version,
        "stage": Stage.NONE.value,
        "source": source,
        "run_id": run_id,
        "digest": digest,
        "description": description,
        "metrics": dict(metrics),
        "params": dict(params),
        "created_at": now,
        "updated_at": now,
        "created_by": actor,
        "updated_by": actor,
    }
    result = await conn.execute(insert(model_versions).values(**values).returning(*_COLUMNS))
    return _record(result.one())


async def get_version(conn: AsyncConnection, model_id: int, version: int) -> VersionRecord | None:
    query = select(*_COLUMNS).where(
        model_versions.c.model_id == model_id, model_versions.c.version == version
    )
    row = (await conn.execute(query)).first()
    return _record(row) if row is not None else None


async def get_versions_by_ids(
    conn: AsyncConnection, ids: Sequence[int]
) -> dict[int, VersionRecord]:
    rows = await conn.execute(select(*_COLUMNS).where(model_versions.c.id.in_(ids)))
    return {row.id: _record(row) for row in rows}


async def get_versions_by_name(
    conn: AsyncConnection, keys: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], VersionRecord]:
    """Versions addressed as (model name, version number)."""
    query = (
        select(*_COLUMNS, models.c.name)
        .join(models, models.c.id == model_versions.c.model_id)
        .where(tuple_(models.c.name, model_versions.c.version).in_(keys))
    )
    return {(row.name, row.version): _record(row) for row in await conn.execute(query)}


async def versions_in_stage(
    conn: AsyncConnection, model_ids: Sequence[int], stage: Stage
) -> dict[int, list[VersionRecord]]:
    """Each model's versions in `stage`, newest first."""
    query = (
        select(*_COLUMNS)
        .where(model_versions.c.model_id.in_(model_ids), model_versions.c.stage == stage.value)
        .order_by(model_versions.c.model_id, model_versions.c.version.desc())
    )
    grouped: dict[int, list[VersionRecord]] = defaultdict(list)
    for row in await conn.execute(query):
        grouped[row.model_id].append(_record(row))
    return grouped


async def latest_versions(
    conn: AsyncConnection, model_ids: Sequence[int], stage: Stage | None = None
) -> dict[int, VersionRecord]:
    """Each model's highest-numbered version (in `stage`, when given)."""
    conditions: list[ColumnElement[bool]] = [model_versions.c.model_id.in_(model_ids)]
    if stage is not None:
        conditions.append(model_versions.c.stage == stage.value)
    newest = (
        select(model_versions.c.model_id, func.max(model_versions.c.version).label("version"))
        .where(*conditions)
        .group_by(model_versions.c.model_id)
        .subquery()
    )
    query = select(*_COLUMNS).join(
        newest,
        and_(
            newest.c.model_id == model_versions.c.model_id,
            newest.c.version == model_versions.c.version,
        ),
    )
    return {row.model_id: _record(row) for row in await conn.execute(query)}


async def version_pages(
    conn: AsyncConnection, model_ids: Sequence[int], stage: Stage | None, page: PageRequest
) -> dict[int, list[VersionRecord]]:
    """One page of versions per model (newest first), in one statement."""
    query = select(*_COLUMNS).where(model_versions.c.model_id.in_(model_ids))
    if stage is not None:
        query = query.where(model_versions.c.stage == stage.value)
    statement = keyset_pages_per_owner(
        query, (model_versions.c.model_id,), (model_versions.c.version,), page
    )
    grouped: dict[int, list[VersionRecord]] = defaultdict(list)
    for row in await conn.execute(statement):
        grouped[row.model_id].append(_record(row))
    return grouped


async def count_versions(
    conn: AsyncConnection, model_ids: Sequence[int], stage: Stage | None
) -> dict[int, int]:
    query = (
        select(model_versions.c.model_id, func.count())
        .where(model_versions.c.model_id.in_(model_ids))
        .group_by(model_versions.c.model_id)
    )
    if stage is not None:
        query = query.where(model_versions.c.stage == stage.value)
    return dict((await conn.execute(query)).all())


async def set_stage(
    conn: AsyncConnection, version_ids: Sequence[int], stage: Stage, *, actor: str, now: datetime
) -> list[VersionRecord]:
    if not version_ids:
        return []
    statement = (
        update(model_versions)
        .where(model_versions.c.id.in_(version_ids))
        .values(stage=stage.value, updated_at=now, updated_by=actor)
        .returning(*_COLUMNS)
    )
    return sorted((_record(row) for row in await conn.execute(statement)), key=lambda v: v.version)


async def set_description(
    conn: AsyncConnection, version_id: int, description: str, *, actor: str, now: datetime
) -> VersionRecord:
    statement = (
        update(model_versions)
        .where(model_versions.c.id == version_id)
        .values(description=description, updated_at=now, updated_by=actor)
        .returning(*_COLUMNS)
    )
    return _record((await conn.execute(statement)).one())


async def delete_version(conn: AsyncConnection, version_id: int) -> None:
    await conn.execute(delete(model_versions).where(model_versions.c.id == version_id))


async def get_versions_by_number(
    conn: AsyncConnection, keys: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], VersionRecord]:
    """Versions addressed as (model id, version number)."""
    query = select(*_COLUMNS).where(
        tuple_(model_versions.c.model_id, model_versions.c.version).in_(keys)
    )
    return {(row.model_id, row.version): _record(row) for row in await conn.execute(query)}
