"""Registered models: rows, the version counter, listing and filtering.

Statements are module constants (or cached per shape) with bound parameters:
building a SQLAlchemy statement costs more than running it on SQLite. A shape
says which filters are present and which one drives (model_filters.py), never
their values or lengths, and the caches are bounded (callers bound the number
of tag conditions).
"""

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.dialect import insert_on_conflict
from storage.keyed import KeyedStatement
from storage.pagination import PageRequest, keyset_page, page_parameters
from storage.queries.model_filters import FilterShape, filtered, shape_of
from storage.queries.model_filters import ModelFilter as ModelFilter  # listing takes one
from storage.queries.model_filters import parameters as filter_parameters
from storage.records import ModelRecord
from storage.rows import AnyRow
from storage.tables import models

COLUMNS = (
    models.c.id,
    models.c.name,
    models.c.description,
    models.c.created_at,
    models.c.updated_at,
    models.c.created_by,
    models.c.updated_by,
)
_BY_IDS = KeyedStatement.build(models.c.id, select(*COLUMNS).where, quick=True)
_BY_NAMES = KeyedStatement.build(models.c.name, select(*COLUMNS).where, quick=True)
_DELETE = delete(models).where(models.c.id == bindparam("id"))
# UPDATE's bound names must differ from column names, hence the `new_` prefix.
_TOUCH = (
    update(models)
    .where(models.c.name == bindparam("match_name"))
    .values(updated_at=bindparam("new_updated_at"), updated_by=bindparam("new_updated_by"))
    .returning(*COLUMNS)
)
_TOUCH_DESCRIBE = _TOUCH.values(description=bindparam("new_description"))
_ALLOCATE = _TOUCH.values(last_version=models.c.last_version + 1).returning(models.c.last_version)
_COUNTER = select(models.c.last_version).where(models.c.id == bindparam("match_id"))
_RAISE_COUNTER = (
    update(models)
    .where(models.c.id == bindparam("match_id"), models.c.last_version < bindparam("at_least"))
    .values(last_version=bindparam("at_least"))
)


class ModelOrder(StrEnum):
    NAME = "name"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"


def record(row: AnyRow | Sequence[Any]) -> ModelRecord:
    return ModelRecord(*row[: len(COLUMNS)])


async def insert_model(
    conn: AsyncConnection,
    *,
    name: str,
    description: str,
    actor: str,
    now: datetime,
    created_at: datetime | None = None,
) -> ModelRecord | None:
    """Insert a model; None when the name is taken (no exception, no aborted transaction).

    `created_at` differs from `now` only for a model copied from another registry.
    """
    statement = (
        insert_on_conflict(conn, models)
        .values(
            name=name,
            description=description,
            last_version=0,
            created_at=created_at or now,
            updated_at=now,
            created_by=actor,
            updated_by=actor,
        )
        .on_conflict_do_nothing(index_elements=[models.c.name])
        .returning(*COLUMNS)
    )
    row = (await conn.execute(statement)).first()
    return record(row) if row is not None else None


async def get_models_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, ModelRecord]:
    rows = await _BY_IDS.execute(conn, ids)
    return {row.id: record(row) for row in rows}


async def get_models_by_names(
    conn: AsyncConnection, names: Sequence[str]
) -> dict[str, ModelRecord]:
    rows = await _BY_NAMES.execute(conn, names)
    return {row.name: record(row) for row in rows}


def _touch_parameters(name: str, actor: str, now: datetime) -> dict[str, Any]:
    return {"match_name": name, "new_updated_at": now, "new_updated_by": actor}


async def lock_model(
    conn: AsyncConnection, name: str, *, actor: str, now: datetime, description: str | None = None
) -> ModelRecord | None:
    """Mark the model as changed by `actor` and hold its row lock until commit.

    Every change to a model or its versions goes through here first, which
    serializes concurrent writers per model on PostgreSQL (SQLite's writer lock
    already serializes everything).
    """
    parameters = _touch_parameters(name, actor, now)
    statement = _TOUCH
    if description is not None:
        statement = _TOUCH_DESCRIBE
        parameters["new_description"] = description
    row = (await conn.execute(statement, parameters)).first()
    return record(row) if row is not None else None


async def allocate_version(
    conn: AsyncConnection, name: str, *, actor: str, now: datetime
) -> tuple[ModelRecord, int] | None:
    """Take the model's next version number from its counter row (and lock the model)."""
    row = (await conn.execute(_ALLOCATE, _touch_parameters(name, actor, now))).first()
    if row is None:
        return None
    return record(row), row.last_version


async def version_counter(conn: AsyncConnection, model_id: int) -> int:
    """The highest version number the model has given out (deleted versions included)."""
    return int((await conn.execute(_COUNTER, {"match_id": model_id})).scalar_one())


async def raise_version_counter(conn: AsyncConnection, model_id: int, at_least: int) -> None:
    """Make the next allocated number exceed `at_least` (versions copied with their numbers)."""
    await conn.execute(_RAISE_COUNTER, {"match_id": model_id, "at_least": at_least})


async def delete_model(conn: AsyncConnection, model_id: int) -> None:
    await conn.execute(_DELETE, {"id": model_id})


def order_key(order: ModelOrder, postgresql: bool) -> tuple[ColumnElement[Any], ...]:
    """The columns a page of models is sorted by; the id breaks ties.

    Names sort in byte order on both backends: SQLite's BINARY collation, and
    `COLLATE "C"` on PostgreSQL, whose index of that order also answers
    nameStartsWith ranges, so a filtered page stops after 25 names instead of
    sorting every match.
    """
    if order == ModelOrder.NAME and postgresql:
        return (models.c.name.collate("C"), models.c.id)
    return (models.c[order.value], models.c.id)


# Shapes x orders x directions x first-or-later pages: a few hundred in real use.
@lru_cache(maxsize=512)
def _list_statement(
    shape: FilterShape, order: ModelOrder, descending: bool, after: bool
) -> Select[Any]:
    query = filtered(select(*COLUMNS), shape)
    key = order_key(order, shape.postgresql)
    return keyset_page(query, key, descending=descending, after=after)


@lru_cache(maxsize=128)
def _count_statement(shape: FilterShape) -> Select[Any]:
    return filtered(select(func.count()).select_from(models), shape)


async def list_models(
    conn: AsyncConnection, model_filter: ModelFilter, order: ModelOrder, page: PageRequest
) -> list[ModelRecord]:
    """Up to `page.first + 1` models (the extra one only says that more follow)."""
    shape = await shape_of(conn, model_filter)
    statement = _list_statement(shape, order, page.descending, page.after is not None)
    parameters = {**filter_parameters(model_filter, shape), **page_parameters(page)}
    return [record(row) for row in await conn.execute(statement, parameters)]


async def count_models(conn: AsyncConnection, model_filter: ModelFilter) -> int:
    shape = await shape_of(conn, model_filter)
    parameters = filter_parameters(model_filter, shape)
    return int((await conn.execute(_count_statement(shape), parameters)).scalar_one())
