"""Registered models: rows, the version counter, listing and filtering.

Statements are module constants (or cached per shape) with bound parameters:
building a SQLAlchemy statement costs more than running it on SQLite. A shape
says which filters are present, never their values or lengths, and the caches
are bounded (callers bound the number of tag conditions).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    bindparam,
    delete,
    exists,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.dialect import insert_on_conflict
from storage.enums import Stage
from storage.keyed import KeyedStatement
from storage.pagination import PageRequest, keyset_page, page_parameters
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
_BY_IDS = KeyedStatement.build(models.c.id, select(*_COLUMNS).where)
_BY_NAMES = KeyedStatement.build(models.c.name, select(*_COLUMNS).where)
_DELETE = delete(models).where(models.c.id == bindparam("id"))
# UPDATE's bound names must differ from column names, hence the `new_` prefix.
_TOUCH = (
    update(models)
    .where(models.c.name == bindparam("match_name"))
    .values(updated_at=bindparam("new_updated_at"), updated_by=bindparam("new_updated_by"))
    .returning(*_COLUMNS)
)
_TOUCH_DESCRIBE = _TOUCH.values(description=bindparam("new_description"))
_FILTER_TAG = model_tags.alias("filter_tag")
_ALLOCATE = _TOUCH.values(last_version=models.c.last_version + 1).returning(models.c.last_version)


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


async def get_models_by_ids(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, ModelRecord]:
    rows = await _BY_IDS.execute(conn, ids)
    return {row.id: _record(row) for row in rows}


async def get_models_by_names(
    conn: AsyncConnection, names: Sequence[str]
) -> dict[str, ModelRecord]:
    rows = await _BY_NAMES.execute(conn, names)
    return {row.name: _record(row) for row in rows}


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
    return _record(row) if row is not None else None


async def allocate_version(
    conn: AsyncConnection, name: str, *, actor: str, now: datetime
) -> tuple[ModelRecord, int] | None:
    """Take the model's next version number from its counter row (and lock the model)."""
    row = (await conn.execute(_ALLOCATE, _touch_parameters(name, actor, now))).first()
    if row is None:
        return None
    return _record(row), row.last_version


async def delete_model(conn: AsyncConnection, model_id: int) -> None:
    await conn.execute(_DELETE, {"id": model_id})


@dataclass(frozen=True)
class _FilterShape:
    """Which filters are present: the statement depends on this, not on their values."""

    prefix: bool
    contains: bool
    tags: bool
    in_stage: bool

    @staticmethod
    def of(model_filter: ModelFilter) -> "_FilterShape":
        return _FilterShape(
            prefix=bool(model_filter.name_prefix),
            contains=bool(model_filter.name_contains),
            tags=bool(model_filter.tags),
            in_stage=model_filter.has_version_in_stage is not None,
        )


def _filtered(query: Select[Any], shape: _FilterShape) -> Select[Any]:
    if shape.prefix:
        # substr instead of LIKE: exact and case-sensitive on both backends.
        prefix = func.substr(models.c.name, 1, bindparam("name_prefix_length", type_=Integer()))
        query = query.where(prefix == bindparam("name_prefix"))
    if shape.contains:
        # LIKE with the wildcards of the value escaped (see _filter_parameters).
        pattern = bindparam("name_pattern", type_=String())
        query = query.where(func.lower(models.c.name).like(func.lower(pattern), escape="/"))
    if shape.tags:
        # One correlated count for all the tags, not one EXISTS per tag: PostgreSQL
        # plans N semi-joins in time exponential in N (20 tags took 2.7 s to plan),
        # and the statement would differ for every N. The keys of a model's tags
        # are unique, so all the pairs match exactly when the count reaches theirs.
        matched = (
            select(func.count())
            .select_from(_FILTER_TAG)
            .where(
                _FILTER_TAG.c.model_id == models.c.id,
                tuple_(_FILTER_TAG.c.key, _FILTER_TAG.c.value).in_(
                    bindparam("tag_pairs", expanding=True)
                ),
            )
            .scalar_subquery()
        )
        query = query.where(matched == bindparam("tag_count", type_=Integer()))
    if shape.in_stage:
        query = query.where(
            exists().where(
                model_versions.c.model_id == models.c.id,
                model_versions.c.stage == bindparam("stage"),
            )
        )
    return query


def _filter_parameters(model_filter: ModelFilter) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    if model_filter.name_prefix:
        parameters["name_prefix"] = model_filter.name_prefix
        parameters["name_prefix_length"] = len(model_filter.name_prefix)
    if model_filter.name_contains:
        escaped = "".join(f"/{c}" if c in "%_/" else c for c in model_filter.name_contains)
        parameters["name_pattern"] = f"%{escaped}%"
    if model_filter.tags:
        pairs = list(dict.fromkeys((key, value) for key, value in model_filter.tags))
        parameters["tag_pairs"] = pairs
        parameters["tag_count"] = len(pairs)
    if model_filter.has_version_in_stage is not None:
        parameters["stage"] = model_filter.has_version_in_stage.value
    return parameters


def order_key(order: ModelOrder) -> tuple[ColumnElement[Any], ...]:
    """The columns a page of models is sorted by; the id breaks ties."""
    return (models.c[order.value], models.c.id)


# Shapes x orders x directions x first-or-later pages: a few hundred in real use.
@lru_cache(maxsize=512)
def _list_statement(
    shape: _FilterShape, order: ModelOrder, descending: bool, after: bool
) -> Select[Any]:
    query = _filtered(select(*_COLUMNS), shape)
    return keyset_page(query, order_key(order), descending=descending, after=after)


@lru_cache(maxsize=128)
def _count_statement(shape: _FilterShape) -> Select[Any]:
    return _filtered(select(func.count()).select_from(models), shape)


async def list_models(
    conn: AsyncConnection, model_filter: ModelFilter, order: ModelOrder, page: PageRequest
) -> list[ModelRecord]:
    """Up to `page.first + 1` models (the extra one only says that more follow)."""
    statement = _list_statement(
        _FilterShape.of(model_filter), order, page.descending, page.after is not None
    )
    parameters = {**_filter_parameters(model_filter), **page_parameters(page)}
    return [_record(row) for row in await conn.execute(statement, parameters)]


async def count_models(conn: AsyncConnection, model_filter: ModelFilter) -> int:
    statement = _count_statement(_FilterShape.of(model_filter))
    return int((await conn.execute(statement, _filter_parameters(model_filter))).scalar_one())
