"""The event log: written by every change, read in a log order that is safe to resume.

Log order is (xid, id). On SQLite one transaction writes at a time, so ids
are handed out in commit order and xid is always 0. On PostgreSQL ids are
taken when rows are inserted, not when they commit, so a reader that saw
event 8 could later see event 7 commit. There each event records the id of
its transaction (`pg_current_xact_id()`, handed out as transactions start
writing, never reused), and a read returns only events of transactions
older than the oldest one still running (`pg_snapshot_xmin` of the read's
own snapshot). Every such transaction has ended, so no event can ever
commit before a position a reader has already passed: a reader that resumes
after the last (xid, id) it got misses nothing and gets nothing twice. The
price: an event shows up only once every transaction that began writing
before it has ended, so a long-running writing transaction delays readers.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal_column,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.dialect import insert_on_conflict
from storage.records import EventRecord
from storage.tables import event_sequences, webhook_deliveries, webhook_events

_e = webhook_events
# Where a reader is: the (xid, id) of the last event it got; (0, 0) before the first.
Position = tuple[int, int]
START: Position = (0, 0)
NOTIFY_CHANNEL = "modelreg_events"

_COLUMNS = (
    _e.c.id,
    _e.c.xid,
    _e.c.type,
    _e.c.model_name,
    _e.c.sequence,
    _e.c.version,
    _e.c.stage,
    _e.c.actor,
    _e.c.data,
    _e.c.created_at,
)
_CURRENT_XID = literal_column("pg_current_xact_id()::text::bigint", BigInteger)
_HORIZON = literal_column("pg_snapshot_xmin(pg_current_snapshot())::text::bigint", BigInteger)


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Events matching all the given fields; empty lists mean any."""

    types: Sequence[str] = ()
    model_names: Sequence[str] = ()
    stages: Sequence[str] = ()
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


async def next_sequences(conn: AsyncConnection, model_name: str, count: int) -> int:
    """Reserve `count` sequence numbers for the model's events; returns the last one."""
    statement = insert_on_conflict(conn, event_sequences).values(
        model_name=model_name, last_sequence=count
    )
    statement = statement.on_conflict_do_update(
        index_elements=[event_sequences.c.model_name],
        set_={"last_sequence": event_sequences.c.last_sequence + statement.excluded.last_sequence},
    ).returning(event_sequences.c.last_sequence)
    return int((await conn.execute(statement)).scalar_one())


_INSERT = insert(_e).returning(_e.c.id, sort_by_parameter_order=True)
_INSERT_WITH_XID = (
    insert(_e).values(xid=_CURRENT_XID).returning(_e.c.id, sort_by_parameter_order=True)
)


async def insert_events(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Write events in the caller's transaction; returns their ids, in order."""
    statement = _INSERT_WITH_XID if conn.dialect.name == "postgresql" else _INSERT
    return list((await conn.execute(statement, list(rows))).scalars())


async def notify_readers(conn: AsyncConnection) -> None:
    """Wake live readers in other processes when this transaction commits (PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))


def _visible(conn: AsyncConnection) -> ColumnElement[bool]:
    """Events no transaction still running can commit before (see the module's docstring)."""
    if conn.dialect.name == "postgresql":
        return _e.c.xid < _HORIZON
    return true()


def _conditions(event_filter: EventFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if event_filter.types:
        conditions.append(_e.c.type.in_(list(event_filter.types)))
    if event_filter.model_names:
        conditions.append(_e.c.model_name.in_(list(event_filter.model_names)))
    if event_filter.stages:
        conditions.append(_e.c.stage.in_(list(event_filter.stages)))
    if event_filter.since is not None:
        conditions.append(_e.c.created_at >= event_filter.since)
    if event_filter.until is not None:
        conditions.append(_e.c.created_at < event_filter.until)
    return conditions


def _after(position: Position) -> ColumnElement[bool]:
    return tuple_(_e.c.xid, _e.c.id) > tuple_(
        bindparam("after_xid", position[0], BigInteger), bindparam("after_id", position[1])
    )


def _page(conn: AsyncConnection, after: Position, event_filter: EventFilter) -> Select[Any]:
    return (
        select(*_COLUMNS)
        .where(_after(after), _visible(conn), *_conditions(event_filter))
        .order_by(_e.c.xid, _e.c.id)
    )


async def events_after(
    conn: AsyncConnection, after: Position, limit: int, event_filter: EventFilter | None = None
) -> list[EventRecord]:
    """Up to `limit` events after `after` in log order, oldest first."""
    query = _page(conn, after, event_filter or EventFilter()).limit(limit)
    return [EventRecord(*row) for row in await conn.execute(query)]


async def count_events(conn: AsyncConnection, event_filter: EventFilter) -> int:
    query = select(func.count()).select_from(_e).where(_visible(conn), *_conditions(event_filter))
    return int((await conn.execute(query)).scalar_one())


async def last_position(conn: AsyncConnection) -> Position:
    """The position of the newest event readers can see now (START when there is none).

    A reader that starts here gets every event that commits after this call.
    """
    query = (
        select(_e.c.xid, _e.c.id)
        .where(_visible(conn))
        .order_by(_e.c.xid.desc(), _e.c.id.desc())
        .limit(1)
    )
    row = (await conn.execute(query)).first()
    return (int(row.xid), int(row.id)) if row is not None else START


async def prune(conn: AsyncConnection, before: datetime) -> int:
    """Delete events older than `before` that no webhook delivery still refers to.

    The newest event always stays: SQLite hands out the largest id plus one,
    and an emptied table would give new events ids below a reader's cursor.
    """
    newest = select(func.max(_e.c.id)).scalar_subquery()
    pruned = await conn.execute(
        delete(_e).where(
            and_(
                _e.c.created_at < before,
                _e.c.id < newest,
                ~exists().where(webhook_deliveries.c.event_id == _e.c.id),
            )
        )
    )
    return int(pruned.rowcount or 0)
