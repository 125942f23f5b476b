"""The stage history: an append-only log of every stage change."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.dialect import ordered_join
from storage.enums import ChangeCause, Stage
from storage.keyed import KeyedPairs
from storage.pagination import OwnerPages, PageRequest
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
    stage_history.c.override_reason,
)


_INSERT = insert(stage_history)


@dataclass(frozen=True, slots=True)
class StageChange:
    """A stage change to record."""

    model_id: int
    version: int
    from_stage: Stage
    to_stage: Stage
    cause: ChangeCause
    # Set when an admin forced the change past the stage policy.
    override_reason: str | None = None


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
        override_reason=row.override_reason,
    )


async def record_changes(
    conn: AsyncConnection,
    changes: Sequence[StageChange],
    *,
    actor: str,
    comment: str | None,
    now: datetime,
) -> None:
    """Append rows in the given order (ids increase in that order), in one statement."""
    rows = [
        {
            "model_id": change.model_id,
            "version": change.version,
            "from_stage": change.from_stage.value,
            "to_stage": change.to_stage.value,
            "cause": change.cause.value,
            "actor": actor,
            "comment": comment,
            "override_reason": change.override_reason,
            "created_at": now,
        }
        for change in changes
    ]
    await conn.execute(_INSERT, rows)


_PRODUCTION_ENTRIES = (
    select(*_COLUMNS)
    .where(
        stage_history.c.model_id == bindparam("model_id"),
        stage_history.c.to_stage == Stage.PRODUCTION.value,
    )
    .order_by(stage_history.c.id.desc())
)


async def production_entries(conn: AsyncConnection, model_id: int) -> list[HistoryRecord]:
    """Entries that moved a version into PRODUCTION, newest first."""
    rows = await conn.execute(_PRODUCTION_ENTRIES, {"model_id": model_id})
    return [_record(row) for row in rows]


_OWNER_MODEL = (stage_history.c.model_id,)
_OWNER_VERSION = (stage_history.c.model_id, stage_history.c.version)
_OF_MODELS = stage_history.c.model_id.in_(bindparam("model_ids", expanding=True))
_COUNT_PER_MODEL = (
    select(stage_history.c.model_id, func.count()).where(_OF_MODELS).group_by(*_OWNER_MODEL)
)
_COUNT_PER_VERSION = KeyedPairs.build(
    (stage_history.c.model_id.type, stage_history.c.version.type),
    lambda pairs, model_id, version: (
        select(*_OWNER_VERSION, func.count())
        .select_from(
            ordered_join(
                pairs,
                stage_history,
                (stage_history.c.model_id == model_id) & (stage_history.c.version == version),
            )
        )
        .group_by(*_OWNER_VERSION)
    ),
)


@cache
def _pages(per_version: bool, after: bool) -> OwnerPages:
    # Index: (model_id, id), or (model_id, version, id) per version.
    owner = _OWNER_VERSION if per_version else _OWNER_MODEL
    return OwnerPages.build(stage_history, _COLUMNS, owner, stage_history.c.id, after=after)


async def history_pages(
    conn: AsyncConnection, model_ids: Sequence[int], page: PageRequest
) -> dict[int, list[HistoryRecord]]:
    """One page of each model's history (newest first), in one statement."""
    rows = await _pages(False, page.after is not None).execute(conn, model_ids, page)
    grouped: dict[int, list[HistoryRecord]] = defaultdict(list)
    for row in rows:
        grouped[row.model_id].append(_record(row))
    return grouped


async def version_history_pages(
    conn: AsyncConnection, versions: Sequence[tuple[int, int]], page: PageRequest
) -> dict[tuple[int, int], list[HistoryRecord]]:
    """One page of history per (model id, version number), newest first."""
    rows = await _pages(True, page.after is not None).execute(conn, versions, page)
    grouped: dict[tuple[int, int], list[HistoryRecord]] = defaultdict(list)
    for row in rows:
        grouped[(row.model_id, row.version)].append(_record(row))
    return grouped


async def count_history(conn: AsyncConnection, model_ids: Sequence[int]) -> dict[int, int]:
    return dict((await conn.execute(_COUNT_PER_MODEL, {"model_ids": list(model_ids)})).all())


async def count_version_history(
    conn: AsyncConnection, versions: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], int]:
    rows = await _COUNT_PER_VERSION.execute(conn, versions)
    return {(m, v): count for m, v, count in rows}
