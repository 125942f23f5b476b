"""The stage history: an append-only log of every stage change."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.enums import ChangeCause, Stage
from storage.pagination import PageRequest, keyset_pages_per_owner
from storage.records import HistoryRecord
from storage.rows import AnyRow
from storage.tables import stage_history

_COLUMNS = (
    stage_history.c.id,
    stage_history.c.model_id,
    stage_history.c.version,
    stage_history.c.from_stage,
    stage_history.c.to_stage,
    stage_history.c.cause,
    stage_history.c.actor,
    stage_history.c.comment,
    stage_history.c.created_at,
)


@dataclass(frozen=True, slots=True)
class StageChange:
    """A stage change to record."""

    model_id: int
    version: int
    from_stage: Stage
    to_stage: Stage
    cause: ChangeCause


def _record(row: AnyRow) -> HistoryRecord:
    return HistoryRecord(
        id=row.id,
        model_id=row.model_id,
        version=row.version,
        from_stage=Stage(row.from_stage),
        to_stage=Stage(row.to_stage),
        cause=ChangeCause(row.cause),
        actor=row.actor,
        comment=row.comment,
        created_at=row.created_at,
    )


async def record_changes(
    conn: AsyncConnection,
    changes: Sequence[StageChange],
    *,
    actor: str,
    comment: str | None,
    now: datetime,
) -> list[HistoryRecord]:
    """Append rows in the given order (ids increase in that order)."""
    records = []
    for change in changes:
        statement = (
            insert(stage_history)
            .values(
                model_id=change.model_id,
                version=change.version,
                from_stage=change.from_stage.value,
                to_stage=change.to_stage.value,
                cause=change.cause.value,
                actor=actor,
                comment=comment,
                created_at=now,
            )
            .returning(*_COLUMNS)
        )
        records.append(_record((await conn.execute(statement)).one()))
    return records


async def production_entries(
    conn: AsyncConnection, model_id: int, *, before_id: int | None = None
) -> list[HistoryRecord]:
    """Entries that moved a version into PRODUCTION, newest first."""
    query = select(*_COLUMNS).where(
        stage_history.c.model_id == model_id,
        stage_history.c.to_stage == Stage.PRODUCTION.value,
    )
    if before_id is not None:
        query = query.where(stage_history.c.id < before_id)
    rows = await conn.execute(query.order_by(stage_history.c.id.desc()))
    return [_record(row) for row in rows]


async def history_pages(
    conn: AsyncConnection, model_ids: Sequence[int], page: PageRequest
) -> dict[int, list[HistoryRecord]]:
    """One page of each model's history (newest first), in one statement."""
    query = select(*_COLUMNS).where(stage_history.c.model_id.in_(model_ids))
    owner = (stage_history.c.model_id,)
    statement = keyset_pages_per_owner(query, owner, (stage_history.c.id,), page)
    grouped: dict[int, list[HistoryRecord]] = defaultdict(list)
    for row in await conn.execute(statement):
        grouped[row.model_id].append(_record(row))
    return grouped


async def version_history_pages(
    conn: AsyncConnection, versions: Sequence[tuple[int, int]], page: PageRequest
) -> dict[tuple[int, int], list[HistoryRecord]]:
    """One page of history per (model id, version number), newest first."""
    owner = (stage_history.c.model_id, stage_history.c.version)
    query = select(*_COLUMNS).where(tuple_(*owner).in_(versions))
    statement = keyset_pages_per_owner(query, owner, (stage_history.c.id,), page)
    grouped: dict[tuple[int, int], list[HistoryRecord]] = defaultdict(list)
    for row in await conn.execute(statement):
        grouped[(row.model_id, row.version)].append(_record(row))
    return grouped


async def count_history(conn: AsyncConnection, model_ids: Sequence[int]) -> dict[int, int]:
    query = (
        select(stage_history.c.model_id, func.count())
        .where(stage_history.c.model_id.in_(model_ids))
        .group_by(stage_history.c.model_id)
    )
    return dict((await conn.execute(query)).all())


async def count_version_history(
    conn: AsyncConnection, versions: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], int]:
    owner = (stage_history.c.model_id, stage_history.c.version)
    query = select(*owner, func.count()).where(tuple_(*owner).in_(versions)).group_by(*owner)
    return {(m, v): count for m, v, count in await conn.execute(query)}
