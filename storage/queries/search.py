"""Searching models and versions by conditions (MLflow's filter strings, once parsed).

A search is a list of AND-ed conditions on a field (a name, a tag, a version's
run id, source or number) and an order of sort keys, each ascending or
descending, ending in a unique key. Pages are keyset pages: "after the last
row's sort key", written out as (k1 > v1) OR (k1 = v1 AND k2 > v2) ... so that
the keys may mix directions, and limited to one page and one extra row.

`LIKE` is case-sensitive on both backends (SQLite's LIKE is not: it becomes a
GLOB there); `ILIKE` is case-insensitive. In both, `%` and `_` are the only
wildcards: no escape character, as in MLflow's own stores.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.queries import models as model_rows
from storage.queries import versions as version_rows
from storage.records import ModelRecord, VersionRecord
from storage.tables import model_tags, model_versions, models, version_tags


class Field(StrEnum):
    NAME = "name"
    TAG = "tag"
    RUN_ID = "run_id"
    SOURCE = "source"
    VERSION = "version"


class Comparator(StrEnum):
    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    LIKE = "LIKE"
    ILIKE = "ILIKE"
    IN = "IN"
    NOT_IN = "NOT IN"


@dataclass(frozen=True, slots=True)
class Condition:
    """`field comparator value`; `key` is the tag's key for Field.TAG.

    A tag condition matches only owners that have the tag, unless
    `absent_matches` (MLflow's rule for its prompt tag: a model without
    `mlflow.prompt.is_prompt` is not a prompt).
    """

    field: Field
    comparator: Comparator
    value: str | int | tuple[str, ...]
    key: str | None = None
    absent_matches: bool = False


class SortKey(StrEnum):
    NAME = "name"
    VERSION = "version"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"


@dataclass(frozen=True, slots=True)
class Sort:
    key: SortKey
    descending: bool = False


def _name(conn: AsyncConnection) -> ColumnElement[str]:
    # Byte order on both backends, as models(orderBy: NAME) sorts (ix_models_name_c).
    return models.c.name.collate("C") if conn.dialect.name == "postgresql" else models.c.name


def _compare(
    conn: AsyncConnection, column: ColumnElement[Any], comparator: Comparator, value: Any
) -> ColumnElement[bool]:
    postgresql = conn.dialect.name == "postgresql"
    if comparator == Comparator.LIKE:
        if postgresql:
            return column.like(_no_escape(value))
        return column.op("GLOB")(_glob(value))
    if comparator == Comparator.ILIKE:
        if postgresql:
            return column.ilike(_no_escape(value))
        return column.like(value)  # SQLite's LIKE ignores case and has no escape character
    if comparator == Comparator.IN:
        return column.in_(list(value))
    if comparator == Comparator.NOT_IN:
        return column.not_in(list(value))
    operators: dict[Comparator, Any] = {
        Comparator.EQ: column.__eq__,
        Comparator.NE: column.__ne__,
        Comparator.LT: column.__lt__,
        Comparator.LE: column.__le__,
        Comparator.GT: column.__gt__,
        Comparator.GE: column.__ge__,
    }
    result: ColumnElement[bool] = operators[comparator](value)
    return result


def _no_escape(pattern: str) -> str:
    """A LIKE pattern for PostgreSQL, whose default escape character is the backslash."""
    return pattern.replace("\\", "\\\\")


def _glob(pattern: str) -> str:
    """A LIKE pattern as a GLOB pattern: case-sensitive, `*`, `?` and `[` taken literally."""
    special = {"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}
    return "".join(special.get(char, char) for char in pattern)


def _tag_condition(
    conn: AsyncConnection, condition: Condition, tags: Any, owner: ColumnElement[int]
) -> ColumnElement[bool]:
    """The owner has the tag, and its value compares as asked (MLflow: no tag, no match)."""
    compared = exists().where(
        tags.c[0] == owner,
        tags.c.key == condition.key,
        _compare(conn, tags.c.value, condition.comparator, condition.value),
    )
    if not condition.absent_matches:
        return compared
    return or_(compared, ~exists().where(tags.c[0] == owner, tags.c.key == condition.key))


def _model_where(conn: AsyncConnection, conditions: Sequence[Condition]) -> list[Any]:
    clauses: list[Any] = []
    for condition in conditions:
        if condition.field == Field.TAG:
            clauses.append(_tag_condition(conn, condition, model_tags, models.c.id))
        else:  # resolvers.search allows only names on models
            clauses.append(_compare(conn, models.c.name, condition.comparator, condition.value))
    return clauses


def _version_where(conn: AsyncConnection, conditions: Sequence[Condition]) -> list[Any]:
    columns: dict[Field, ColumnElement[Any]] = {
        Field.NAME: models.c.name,
        Field.RUN_ID: model_versions.c.run_id,
        Field.SOURCE: model_versions.c.source,
        Field.VERSION: model_versions.c.version,
    }
    clauses: list[Any] = []
    for condition in conditions:
        if condition.field == Field.TAG:
            clauses.append(_tag_condition(conn, condition, version_tags, model_versions.c.id))
        else:
            column = columns[condition.field]
            clauses.append(_compare(conn, column, condition.comparator, condition.value))
    return clauses


def _after(
    keys: Sequence[tuple[ColumnElement[Any], bool]], values: Sequence[Any]
) -> ColumnElement[bool]:
    """Rows that sort after `values`: (k1 > v1) OR (k1 = v1 AND k2 > v2) OR ..."""
    alternatives = []
    for i, (column, descending) in enumerate(keys):
        equal = [keys[j][0] == values[j] for j in range(i)]
        beyond = column < values[i] if descending else column > values[i]
        alternatives.append(and_(*equal, beyond))
    return or_(*alternatives)


def _paged(
    query: Select[Any],
    keys: Sequence[tuple[ColumnElement[Any], bool]],
    after: Sequence[Any] | None,
    first: int,
) -> Select[Any]:
    if after is not None:
        query = query.where(_after(keys, after))
    order = [column.desc() if descending else column.asc() for column, descending in keys]
    return query.order_by(*order).limit(first + 1)


def _model_keys(
    conn: AsyncConnection, order: Sequence[Sort]
) -> list[tuple[ColumnElement[Any], bool]]:
    columns: dict[SortKey, ColumnElement[Any]] = {
        SortKey.NAME: _name(conn),
        SortKey.CREATED_AT: models.c.created_at,
        SortKey.UPDATED_AT: models.c.updated_at,
    }
    return [(columns[sort.key], sort.descending) for sort in order]


def _version_keys(
    conn: AsyncConnection, order: Sequence[Sort]
) -> list[tuple[ColumnElement[Any], bool]]:
    columns: dict[SortKey, ColumnElement[Any]] = {
        SortKey.NAME: _name(conn),
        SortKey.VERSION: model_versions.c.version,
        SortKey.CREATED_AT: model_versions.c.created_at,
        SortKey.UPDATED_AT: model_versions.c.updated_at,
    }
    return [(columns[sort.key], sort.descending) for sort in order]


async def search_models(
    conn: AsyncConnection,
    conditions: Sequence[Condition],
    order: Sequence[Sort],
    *,
    after: Sequence[Any] | None,
    first: int,
) -> list[ModelRecord]:
    """Up to `first + 1` matching models in `order` (the extra one says more follow)."""
    query = select(*model_rows.COLUMNS).where(*_model_where(conn, conditions))
    query = _paged(query, _model_keys(conn, order), after, first)
    return [model_rows.record(row) for row in await conn.execute(query)]


async def search_versions(
    conn: AsyncConnection,
    conditions: Sequence[Condition],
    order: Sequence[Sort],
    *,
    after: Sequence[Any] | None,
    first: int,
) -> list[tuple[str, VersionRecord]]:
    """Up to `first + 1` matching versions in `order`, each with its model's name."""
    joined = model_versions.join(models, models.c.id == model_versions.c.model_id)
    query = (
        select(*version_rows.COLUMNS, models.c.name.label("model_name"))
        .select_from(joined)
        .where(*_version_where(conn, conditions))
    )
    query = _paged(query, _version_keys(conn, order), after, first)
    return [(row.model_name, version_rows.record(row)) for row in await conn.execute(query)]
