"""Registered models: rows, the version counter, listing and filtering."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.dialect import insert_on_conflict
from storage.enums import Stage
from storage.pagination import PageRequest, keyset_page
from storage.records import ModelRecord
from storage.rows import AnyRow
from storage.tables import model_tags, model_versions, models

_COLUMNS = (
    models.c.id,
    models.c.name,
    models.c.description,
    models.c.created_at,
    models.c.updated_at,
    models.c.created_by,
    models.c.updated_by,
)


class ModelOrder(StrEnum):
    NAME = "name"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"


@dataclass(frozen=True, slots=True)
class ModelFilter:
    name_prefix: str | None = None
    name_contains: str | None = None
    tags: Sequence[tuple[str, str]] = field(default_factory=tuple)
    has_version_in_stage: Stage | None = None


def _record(row: AnyRow) -> ModelRecord:
    return ModelRecord(*row[: len(_COLUMNS)])


async def insert_model(
    conn: AsyncConnection, *, name: str, description: str, actor: str, now: datetime
) -> ModelRecord | None:
    """Insert a model; None when the name is taken (no exception, no aborted transaction)."""
    statement = (
        insert_on_conflict(conn, models)
        .values(
            name=name,
            description=description,
            last_version=0,
            created_at=now,
            updated_at=now,
            created_by=actor,
            updated_by=actor,
        )
        .on_conflict_do_nothing(index_elements=[models.c.name])
        .returning(*_COLUMNS)
    )
    row = (await conn.execute(statement)).first()
    return _record(row) if row is not None else None


async def get_model(conn: AsyncConnection, name: str) -> ModelRecord | None:
    row = (await conn.execute(select(*_COLUMNS).where(models.c.name == name))).first()
    return _record(row) if row is not None else None


async def get_models_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, ModelRecord]:
    rows = await conn.execute(select(*_COLUMNS).where(models.c.id.in_(ids)))
    return {row.id: _record(row) for row in rows}


async def get_models_by_names(
    conn: AsyncConnection, names: Sequence[str]
) -> dict[str, ModelRecord]:
    rows = await conn.execute(select(*_COLUMNS).where(models.c.name.in_(names)))
    return {row.name: _record(row) for row in rows}


async def lock_model(
    conn: AsyncConnection, name: str, *, actor: str, now: datetime, description: str | None = None
) -> ModelRecord | None:
    """Mark the model as changed by `actor` and hold its row lock until commit.

    Every change to a model or its versions goes through here first, which
    serializes concurrent writers per model on PostgreSQL (SQLite's writer lock
    already serializes everything).
    """
    values: dict[str, Any] = {"updated_at": now, "updated_by": actor}
    if description is not None:
        values["description"] = description
    statement = update(models).where(models.c.name == name).values(**values).returning(*_COLUMNS)
    row = (await conn.execute(statement)).first()
    return _record(row) if row is not None else None


async def allocate_version(
    conn: AsyncConnection, name: str, *, actor: str, now: datetime
) -> tuple[ModelRecord, int] | None:
    """Take the model's next version number from its counter row (and lock the model)."""
    statement = (
        update(models)
        .where(models.c.name == name)
        .values(last_version=models.c.last_version + 1, updated_at=now, updated_by=actor)
        .returning(*_COLUMNS, models.c.last_version)
    )
    row = (await conn.execute(statement)).first()
    if row is None:
        return None
    return _record(row), row.last_version


async def delete_model(conn: AsyncConnection, model_id: int) -> None:
    await conn.execute(delete(models).where(models.c.id == model_id))


def _filtered(query: Select[Any], model_filter: ModelFilter) -> Select[Any]:
    if model_filter.name_prefix:
        prefix = model_filter.name_prefix
        # substr instead of LIKE: exact and case-sensitive on both backends.
        query = query.where(func.substr(models.c.name, 1, len(prefix)) == prefix)
    if model_filter.name_contains:
        query = query.where(models.c.name.icontains(model_filter.name_contains, autoescape=True))
    for key, value in model_filter.tags:
        query = query.where(
            exists().where(
                model_tags.c.model_id == models.c.id,
                model_tags.c.key == key,
                model_tags.c.value == value,
            )
        )
    if model_filter.has_version_in_stage is not None:
        query = query.where(
            exists().where(
                model_versions.c.model_id == models.c.id,
                model_versions.c.stage == model_filter.has_version_in_stage.value,
            )
        )
    return query


def order_key(order: ModelOrder) -> tuple[ColumnElement[Any], ...]:
    """The columns a page of models is sorted by; the id breaks ties."""
    return (models.c[order.value], models.c.id)


async def list_models(
    conn: AsyncConnection, model_filter: ModelFilter, order: ModelOrder, page: PageRequest
) -> list[ModelRecord]:
    """Up to `page.first + 1` models (the extra one only says that more follow)."""
    query = keyset_page(_filtered(select(*_COLUMNS), model_filter), order_key(order), page)
    return [_record(row) for row in await conn.execute(query)]


async def count_models(conn: AsyncConnection, model_filter: ModelFilter) -> int:
    query = _filtered(select(func.count()).select_from(models), model_filter)
    return int((await conn.execute(query)).scalar_one())
