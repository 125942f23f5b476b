"""The alias history: an append-only log of every move of every alias."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.dialect import ordered_join
from storage.enums import AliasChangeCause
from storage.keyed import KeyedPairs
from storage.pagination import OwnerPages, PageRequest
from storage.records import AliasHistoryRecord
from storage.rows import AnyRow
from storage.tables import alias_history

_h = alias_history
_COLUMNS = (
    _h.c.id,
    _h.c.model_id,
    _h.c.alias,
    _h.c.from_version,
    _h.c.to_version,
    _h.c.cause,
    _h.c.actor,
    _h.c.comment,
    _h.c.override_reason,
    _h.c.transition_request_id,
    _h.c.created_at,
)
_INSERT = insert(_h)


@dataclass(frozen=True, slots=True)
class AliasMove:
    """An alias move to record; a None version means "did not exist" / "deleted"."""

    model_id: int
    alias: str
    from_version: int | None
    to_version: int | None
    cause: AliasChangeCause
    comment: str | None = None
    override_reason: str | None = None
    transition_request_id: int | None = None


def _record(row: AnyRow) -> AliasHistoryRecord:
    return AliasHistoryRecord(
        id=row.id,
        model_id=row.model_id,
        alias=row.alias,
        from_version=row.from_version,
        to_version=row.to_version,
        cause=AliasChangeCause(row.cause),
        actor=row.actor,
        comment=row.comment,
        override_reason=row.override_reason,
        transition_request_id=row.transition_request_id,
        created_at=row.created_at,
    )


async def record_moves(
    conn: AsyncConnection, moves: Sequence[AliasMove], *, actor: str, now: datetime
) -> None:
    """Append rows in the given order, in one statement."""
    if not moves:
        return
    rows = [
        {
            "model_id": move.model_id,
            "alias": move.alias,
            "from_version": move.from_version,
            "to_version": move.to_version,
            "cause": move.cause.value,
            "actor": actor,
            "comment": move.comment,
            "override_reason": move.override_reason,
            "transition_request_id": move.transition_request_id,
            "created_at": now,
        }
        for move in moves
    ]
    await conn.execute(_INSERT, rows)


_OWNER_MODEL = (_h.c.model_id,)
_OWNER_ALIAS = (_h.c.model_id, _h.c.alias)
_OF_MODELS = _h.c.model_id.in_(bindparam("model_ids", expanding=True))
_COUNT_PER_MODEL = select(_h.c.model_id, func.count()).where(_OF_MODELS).group_by(*_OWNER_MODEL)
_COUNT_PER_ALIAS = KeyedPairs.build(
    (_h.c.model_id.type, _h.c.alias.type),
    lambda pairs, model_id, alias: (
        select(*_OWNER_ALIAS, func.count())
        .select_from(ordered_join(pairs, _h, (_h.c.model_id == model_id) & (_h.c.alias == alias)))
        .group_by(*_OWNER_ALIAS)
    ),
)


@cache
def _pages(per_alias: bool, after: bool) -> OwnerPages:
    # Index: (model_id, id), or (model_id, alias, id) per alias.
    owner = _OWNER_ALIAS if per_alias else _OWNER_MODEL
    return OwnerPages.build(_h, _COLUMNS, owner, _h.c.id, after=after)


async def history_pages(
    conn: AsyncConnection, model_ids: Sequence[int], page: PageRequest
) -> dict[int, list[AliasHistoryRecord]]:
    """One page of each model's alias moves (newest first), in one statement."""
    rows = await _pages(False, page.after is not None).execute(conn, model_ids, page)
    grouped: dict[int, list[AliasHistoryRecord]] = defaultdict(list)
    for row in rows:
        grouped[row.model_id].append(_record(row))
    return grouped


async def alias_history_pages(
    conn: AsyncConnection, aliases: Sequence[tuple[int, str]], page: PageRequest
) -> dict[tuple[int, str], list[AliasHistoryRecord]]:
    """One page per (model id, alias), newest first."""
    rows = await _pages(True, page.after is not None).execute(conn, aliases, page)
    grouped: dict[tuple[int, str], list[AliasHistoryRecord]] = defaultdict(list)
    for row in rows:
        grouped[(row.model_id, row.alias)].append(_record(row))
    return grouped


async def count_history(conn: AsyncConnection, model_ids: Sequence[int]) -> dict[int, int]:
    return dict((await conn.execute(_COUNT_PER_MODEL, {"model_ids": list(model_ids)})).all())


async def count_alias_history(
    conn: AsyncConnection, aliases: Sequence[tuple[int, str]]
) -> dict[tuple[int, str], int]:
    rows = await _COUNT_PER_ALIAS.execute(conn, aliases)
    return {(m, a): count for m, a, count in rows}
