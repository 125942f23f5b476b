"""What held a stage or an alias at a point in time, from the history tables.

Each answer is a few index lookups per model, never a read of its history:

- PRODUCTION at T: the model's last promotion at or before T (index
  (model_id, to_stage, created_at, id)); then the next change of that version
  after it (index (model_id, version, id)) and its deletion, if any (primary
  key of deleted_versions): if either came at or before T, nothing was in
  PRODUCTION at T (a promotion after it would have been the last one).
- An alias at T: its last move at or before T (index (model_id, alias,
  created_at)) says where it pointed, or that it did not exist.

A model's rows are written under its lock, so their ids and times rise
together; rows of one instant (a frozen clock) are told apart by id.
Batches of models are one statement: the models come from one parameter
(`json_each` on SQLite, `unnest` on PostgreSQL) and each one's lookups are
correlated subqueries.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    FromClause,
    Select,
    String,
    bindparam,
    cast,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.column_types import UTCDateTime
from storage.dialect import ordered_join
from storage.enums import Stage
from storage.tables import alias_history, deleted_versions, stage_history


@dataclass(frozen=True, slots=True)
class HeldAt:
    """The version that last took the stage or alias at or before the time asked about.

    `version` None: the alias was deleted (or never set). `left_at`: when that
    version next changed stage; `deleted_at`: when it was deleted (None: it
    exists, or went before deletions were recorded).
    """

    version: int | None
    left_at: datetime | None
    deleted_at: datetime | None


_AT = bindparam("at", type_=UTCDateTime())


def _owners(dialect: str) -> tuple[FromClause, ColumnElement[Any]]:
    """The batch's model ids as a table: one JSON or array parameter, `owners`."""
    if dialect == "postgresql":
        array = cast(bindparam("owners"), ARRAY(BigInteger()))
        unnested = func.unnest(array).table_valued("model_id").render_derived().alias("owners")
        return unnested, unnested.c.model_id
    from_json = func.json_each(bindparam("owners", type_=String())).table_valued("value")
    from_json = from_json.alias("owners")
    return from_json, from_json.c.value


def _deleted_at(model_id: ColumnElement[Any], version: ColumnElement[Any]) -> Any:
    d = deleted_versions
    return (
        select(d.c.deleted_at)
        .where(d.c.model_id == model_id, d.c.version == version)
        .scalar_subquery()
    )


def _last_at(history: FromClause, *conditions: ColumnElement[bool]) -> Any:
    """The id of the last history row at or before `:at` that meets `conditions` (LIMIT 1)."""
    return (
        select(history.c.id)
        .where(*conditions, history.c.created_at <= _AT)
        .order_by(history.c.created_at.desc(), history.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _entries(owners: FromClause, entry_id: Any, history: FromClause) -> FromClause:
    """Each owner's entry id (a correlated LIMIT 1 lookup), joined to the entry's row."""
    found = select(entry_id.label("entry_id")).select_from(owners).subquery("found")
    return ordered_join(found, history, history.c.id == found.c.entry_id)


@cache
def _production_at(dialect: str) -> Select[Any]:
    h = stage_history.alias("entry")
    last = stage_history.alias("last_promotion")
    after = stage_history.alias("next_change")
    owners, owner = _owners(dialect)
    last_promotion = _last_at(
        last, last.c.model_id == owner, last.c.to_stage == Stage.PRODUCTION.value
    )
    next_change = (
        select(after.c.created_at)
        .where(
            after.c.model_id == h.c.model_id, after.c.version == h.c.version, after.c.id > h.c.id
        )
        .order_by(after.c.id)
        .limit(1)
        .scalar_subquery()
    )
    return select(
        h.c.model_id,
        h.c.version,
        next_change.label("left_at"),
        _deleted_at(h.c.model_id, h.c.version).label("deleted_at"),
    ).select_from(_entries(owners, last_promotion, h))


@cache
def _alias_at(dialect: str) -> Select[Any]:
    h = alias_history.alias("entry")
    last = alias_history.alias("last_move")
    owners, owner = _owners(dialect)
    last_move = _last_at(last, last.c.model_id == owner, last.c.alias == bindparam("alias"))
    return select(
        h.c.model_id,
        h.c.to_version.label("version"),
        _deleted_at(h.c.model_id, h.c.to_version).label("deleted_at"),
    ).select_from(_entries(owners, last_move, h))


def _owner_values(conn: AsyncConnection, model_ids: Sequence[int]) -> Any:
    ids = list(dict.fromkeys(model_ids))
    return ids if conn.dialect.name == "postgresql" else json.dumps(ids)


async def production_at(
    conn: AsyncConnection, model_ids: Sequence[int], at: datetime
) -> dict[int, HeldAt]:
    """Per model: the last version promoted to PRODUCTION at or before `at`, if any."""
    statement = _production_at(conn.dialect.name)
    rows = await conn.execute(statement, {"owners": _owner_values(conn, model_ids), "at": at})
    return {row.model_id: HeldAt(row.version, row.left_at, row.deleted_at) for row in rows}


async def alias_at(
    conn: AsyncConnection, model_ids: Sequence[int], alias: str, at: datetime
) -> dict[int, HeldAt]:
    """Per model: where `alias` pointed after its last move at or before `at`, if it ever moved."""
    statement = _alias_at(conn.dialect.name)
    parameters = {"owners": _owner_values(conn, model_ids), "alias": alias, "at": at}
    rows = await conn.execute(statement, parameters)
    return {row.model_id: HeldAt(row.version, None, row.deleted_at) for row in rows}
