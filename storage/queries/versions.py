"""Model versions: rows, stages and batched per-model lookups.

Statements are module constants (or cached per shape) with bound parameters:
building a SQLAlchemy statement costs more than running it on SQLite.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.dialect import ordered_join
from storage.enums import Stage
from storage.keyed import KeyedPairs, KeyedStatement
from storage.pagination import OwnerPages, PageRequest
from storage.records import VersionRecord
from storage.tables import model_versions, models

COLUMNS = (
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
    model_versions.c.logged_model_id,
    model_versions.c.run_link,
)
_SELECT = select(*COLUMNS)
_IN_STAGE = model_versions.c.stage == bindparam("stage")

_INSERT = insert(model_versions).returning(*COLUMNS)
_BY_IDS = KeyedStatement.build(model_versions.c.id, _SELECT.where, quick=True)
_BY_NUMBER = KeyedPairs.build(
    (model_versions.c.model_id.type, model_versions.c.version.type),
    lambda pairs, model_id, version: _SELECT.select_from(
        ordered_join(
            pairs,
            model_versions,
            (model_versions.c.model_id == model_id) & (model_versions.c.version == version),
        )
    ),
)
_BY_NAME = KeyedPairs.build(
    (models.c.name.type, model_versions.c.version.type),
    lambda pairs, name, version: select(*COLUMNS, models.c.name).select_from(
        ordered_join(pairs, models, models.c.name == name).join(
            model_versions,
            (model_versions.c.model_id == models.c.id) & (model_versions.c.version == version),
        )
    ),
)
_IN_STAGE_NEWEST_FIRST = KeyedStatement.build(
    model_versions.c.model_id,
    lambda of_models: _SELECT.where(of_models, _IN_STAGE).order_by(
        model_versions.c.model_id, model_versions.c.version.desc()
    ),
)
_SET_STAGE = (
    update(model_versions)
    .where(model_versions.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        stage=bindparam("new_stage"),
        updated_at=bindparam("new_updated_at"),
        updated_by=bindparam("new_updated_by"),
    )
    .returning(*COLUMNS)
)
_SET_DESCRIPTION = (
    update(model_versions)
    .where(model_versions.c.id == bindparam("match_id"))
    .values(
        description=bindparam("new_description"),
        updated_at=bindparam("new_updated_at"),
        updated_by=bindparam("new_updated_by"),
    )
    .returning(*COLUMNS)
)
_DELETE = delete(model_versions).where(model_versions.c.id == bindparam("id"))
_NEWEST = PageRequest(first=1, descending=True)


def record(row: Sequence[Any]) -> VersionRecord:
    """A version from a row whose first columns are COLUMNS."""
    values = list(row[: len(COLUMNS)])
    values[3] = Stage(values[3])
    return VersionRecord(*values)


def _by_model(rows: Any) -> dict[int, list[VersionRecord]]:
    grouped: dict[int, list[VersionRecord]] = defaultdict(list)
    for row in rows:
        grouped[row.model_id].append(record(row))
    return grouped


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
    logged_model_id: str | None = None,
    run_link: str | None = None,
    created_at: datetime | None = None,
) -> VersionRecord:
    """Insert a version in NONE; `created_at` differs from `now` only for an imported one."""
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
        "created_at": created_at or now,
        "updated_at": now,
        "created_by": actor,
        "updated_by": actor,
        "logged_model_id": logged_model_id,
        "run_link": run_link,
    }
    return record((await conn.execute(_INSERT, values)).one())


async def get_version(conn: AsyncConnection, model_id: int, version: int) -> VersionRecord | None:
    return (await get_versions_by_number(conn, [(model_id, version)])).get((model_id, version))


async def get_versions_by_ids(
    conn: AsyncConnection, ids: Sequence[int]
) -> dict[int, VersionRecord]:
    rows = await _BY_IDS.execute(conn, ids)
    return {row.id: record(row) for row in rows}


async def get_versions_by_number(
    conn: AsyncConnection, keys: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], VersionRecord]:
    """Versions addressed as (model id, version number)."""
    rows = await _BY_NUMBER.execute(conn, keys)
    return {(row.model_id, row.version): record(row) for row in rows}


async def get_versions_by_name(
    conn: AsyncConnection, keys: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], VersionRecord]:
    """Versions addressed as (model name, version number)."""
    rows = await _BY_NAME.execute(conn, keys)
    return {(row.name, row.version): record(row) for row in rows}


async def versions_in_stage(
    conn: AsyncConnection, model_ids: Sequence[int], stage: Stage
) -> dict[int, list[VersionRecord]]:
    """Each model's versions in `stage`, newest first."""
    return _by_model(await _IN_STAGE_NEWEST_FIRST.execute(conn, model_ids, {"stage": stage.value}))


async def production_versions(
    conn: AsyncConnection, model_ids: Sequence[int]
) -> dict[int, VersionRecord]:
    """Each model's PRODUCTION version (the database allows at most one)."""
    in_production = await versions_in_stage(conn, model_ids, Stage.PRODUCTION)
    return {model_id: found[0] for model_id, found in in_production.items()}


async def latest_versions(
    conn: AsyncConnection, model_ids: Sequence[int]
) -> dict[int, VersionRecord]:
    """Each model's highest-numbered version: a page of one, newest first."""
    newest = await version_pages(conn, model_ids, None, _NEWEST)
    return {model_id: found[0] for model_id, found in newest.items()}


def _in_stage(table: FromClause) -> Sequence[ColumnElement[bool]]:
    return (table.c.stage == bindparam("stage"),)


@cache
def _pages(in_stage: bool, after: bool) -> OwnerPages:
    # Index: (model_id, version) unique, or (model_id, stage, version) for a stage.
    return OwnerPages.build(
        model_versions,
        COLUMNS,
        (model_versions.c.model_id,),
        model_versions.c.version,
        _in_stage if in_stage else lambda _: (),
        after=after,
    )


async def version_pages(
    conn: AsyncConnection, model_ids: Sequence[int], stage: Stage | None, page: PageRequest
) -> dict[int, list[VersionRecord]]:
    """One page of versions per model (newest first), in one statement."""
    pages = _pages(stage is not None, page.after is not None)
    parameters = {"stage": stage.value} if stage is not None else {}
    return _by_model(await pages.execute(conn, model_ids, page, parameters))


@cache
def _count_statement(in_stage: bool) -> Select[Any]:
    of_models = model_versions.c.model_id.in_(bindparam("model_ids", expanding=True))
    query = select(model_versions.c.model_id, func.count()).where(of_models)
    if in_stage:
        query = query.where(_IN_STAGE)
    return query.group_by(model_versions.c.model_id)


async def count_versions(
    conn: AsyncConnection, model_ids: Sequence[int], stage: Stage | None
) -> dict[int, int]:
    parameters: dict[str, Any] = {"model_ids": list(model_ids)}
    if stage is not None:
        parameters["stage"] = stage.value
    return dict((await conn.execute(_count_statement(stage is not None), parameters)).all())


async def set_stage(
    conn: AsyncConnection, version_ids: Sequence[int], stage: Stage, *, actor: str, now: datetime
) -> list[VersionRecord]:
    if not version_ids:
        return []
    parameters = {
        "ids": list(version_ids),
        "new_stage": stage.value,
        "new_updated_at": now,
        "new_updated_by": actor,
    }
    rows = await conn.execute(_SET_STAGE, parameters)
    return sorted((record(row) for row in rows), key=lambda v: v.version)


async def set_description(
    conn: AsyncConnection, version_id: int, description: str, *, actor: str, now: datetime
) -> VersionRecord:
    parameters = {
        "match_id": version_id,
        "new_description": description,
        "new_updated_at": now,
        "new_updated_by": actor,
    }
    return record((await conn.execute(_SET_DESCRIPTION, parameters)).one())


async def delete_version(conn: AsyncConnection, version_id: int) -> None:
    await conn.execute(_DELETE, {"id": version_id})
