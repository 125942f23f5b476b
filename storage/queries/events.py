"""The event log: written by every change, read in a log order that is safe to resume.

Log order is (xid, id). On SQLite one transaction writes at a time, so ids
are handed out in commit order and xid is always 0. On PostgreSQL ids are
taken when rows are inserted, not when they commit, so a reader that saw
event 8 could later see event 7 commit. There each event records the id of
its transaction (`pg_current_xact_id()`, handed out as a transaction starts
writing, never reused), and a read returns only events of transactions
older than the oldest transaction of this database still running. That
horizon is sampled in a statement of its own *before* the read (each
statement of a READ COMMITTED transaction reads a newer snapshot): every
transaction below it had ended when it was sampled, so its events are
committed and visible to the read, or rolled back. No event can then ever
commit at a place a reader has already passed: a reader that resumes after
the last (xid, id) it got misses nothing and gets nothing twice.

The horizon comes from `pg_stat_activity.backend_xid` (readable by any
role) of this database's sessions, not from the snapshot's `xmin`, which
counts every database of the cluster: a long transaction elsewhere on a
shared server must not hold these readers back. One here does: an event
shows up only once every transaction of this database that began writing
before it has ended. Prepared (two-phase) transactions are not listed
there; modelreg never prepares one.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
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

from storage import sqlite_driver
from storage.records import EventRecord, event_data
from storage.tables import webhook_deliveries, webhook_events, webhooks

_e = webhook_events
# Where a reader is: the (xid, id) of the last event it got; (0, 0) before the first.
Position = tuple[int, int]
START: Position = (0, 0)
# Live readers of other processes LISTEN here; on PostgreSQL every INSERT of events
# sends it (a trigger, migration 0012), delivered when the transaction commits.
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
# The full (64-bit) id of the oldest transaction of this database still running,
# or the first id not yet completed when none is. backend_xid is 32-bit: it is
# widened by the epoch of `n`, which it is within 2^31 of.
_HORIZON = text(
    """
    SELECT coalesce(
        min(next.n + (a.backend_xid::text::bigint - next.n % 4294967296 + 6442450944)
            % 4294967296 - 2147483648),
        min(next.n))
    FROM (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS n) AS next
    LEFT JOIN pg_stat_activity AS a
      ON a.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND a.backend_xid IS NOT NULL
    """
)


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Events matching all the given fields; empty lists mean any."""

    types: Sequence[str] = ()
    model_names: Sequence[str] = ()
    stages: Sequence[str] = ()
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


# Whether any webhook is active, asked in the events' own INSERT: the change's
# transaction then reads the subscriptions only when there are some to match
# (one statement less for every change while nothing subscribes).
_ANY_WEBHOOK = exists().where(webhooks.c.active.is_(True)).label("any_webhook")
# SQLite: one INSERT for all of a change's events, its RETURNING sorted by id
# afterwards. Asking SQLAlchemy to keep the rows' order (sort_by_parameter_order)
# sends one INSERT per event there; but the writer holds the database's write
# lock, so a statement's rows take ascending ids in the order they are given.
_INSERT = insert(_e).returning(_e.c.id, _ANY_WEBHOOK)
_INSERT_WITH_XID = (
    insert(_e)
    .values(xid=_CURRENT_XID)
    .returning(_e.c.id, _ANY_WEBHOOK, sort_by_parameter_order=True)
)


@dataclass(frozen=True, slots=True)
class Logged:
    ids: list[int]  # of the events, in the order given
    any_webhook: bool  # whether a webhook subscription was active as they were written


async def insert_events(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> Logged:
    """Write events in the caller's transaction.

    An event of a model given without a `sequence` takes the model's next
    number from `event_sequences`, in the same statement: the database's
    trigger does it (see migration 0011), in the order of `rows`.
    """
    if conn.dialect.name == "postgresql":
        returned = (await conn.execute(_INSERT_WITH_XID, list(rows))).all()
    else:
        # A change's few rows, in a transaction that holds the write lock: on the
        # loop's thread, without a hand-off to the connection's (storage/sqlite_driver.py).
        with sqlite_driver.quick():
            result = await conn.execute(_INSERT, list(rows))
        returned = sorted(result.all(), key=lambda row: row.id)
    return Logged([row.id for row in returned], any(row.any_webhook for row in returned))


async def _horizon(conn: AsyncConnection) -> int | None:
    """PostgreSQL: the horizon of the next statement's read (None on SQLite: no horizon).

    Call it in its own statement, before the read (see the module's docstring).
    """
    if conn.dialect.name != "postgresql":
        return None
    return int((await conn.execute(_HORIZON)).scalar_one())


def _visible(horizon: int | None) -> ColumnElement[bool]:
    """Events no transaction still running can commit before."""
    if horizon is None:
        return true()
    return _e.c.xid < bindparam("horizon", horizon, BigInteger)


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


def _page(horizon: int | None, after: Position, event_filter: EventFilter) -> Select[Any]:
    return (
        select(*_COLUMNS)
        .where(_after(after), _visible(horizon), *_conditions(event_filter))
        .order_by(_e.c.xid, _e.c.id)
    )


# The live hub's read (every event after a position), built once: executing the
# same statement object lets SQLAlchemy reuse its cache key and compiled form,
# where building the select anew each time cost ~0.3 ms of CPU per read, and the
# hub of each process reads about ten times a second (tests/test_event_log.py
# compares both forms' answers).
_NEXT = (
    select(*_COLUMNS)
    .where(
        tuple_(_e.c.xid, _e.c.id)
        > tuple_(bindparam("after_xid", type_=BigInteger), bindparam("after_id", type_=Integer))
    )
    .order_by(_e.c.xid, _e.c.id)
    .limit(bindparam("limit", type_=Integer))
)
_NEXT_BELOW_HORIZON = _NEXT.where(_e.c.xid < bindparam("horizon", type_=BigInteger))


async def events_after(
    conn: AsyncConnection,
    after: Position,
    limit: int,
    event_filter: EventFilter | None = None,
    *,
    upto: Position | None = None,
) -> list[EventRecord]:
    """Up to `limit` events after `after` (and not after `upto`) in log order, oldest first."""
    horizon = await _horizon(conn)
    if event_filter is None and upto is None:
        params = {"after_xid": after[0], "after_id": after[1], "limit": limit}
        if horizon is None:
            rows = await conn.execute(_NEXT, params)
        else:
            rows = await conn.execute(_NEXT_BELOW_HORIZON, {**params, "horizon": horizon})
        return [_record(row) for row in rows]
    query = _page(horizon, after, event_filter or EventFilter())
    if upto is not None:
        query = query.where(
            tuple_(_e.c.xid, _e.c.id)
            <= tuple_(bindparam("upto_xid", upto[0], BigInteger), bindparam("upto_id", upto[1]))
        )
    return [_record(row) for row in await conn.execute(query.limit(limit))]


def _record(row: Any) -> EventRecord:
    # The columns of _COLUMNS, in order.
    event_id, xid, type_, model_name, sequence, version, stage, actor, data, created_at = row
    return EventRecord(
        event_id,
        xid,
        type_,
        model_name,
        sequence,
        version,
        stage,
        actor,
        event_data(data, sequence),
        created_at,
    )


async def count_events(conn: AsyncConnection, event_filter: EventFilter) -> int:
    visible = _visible(await _horizon(conn))
    query = select(func.count()).select_from(_e).where(visible, *_conditions(event_filter))
    return int((await conn.execute(query)).scalar_one())


async def last_position(conn: AsyncConnection) -> Position:
    """The position of the newest event readers can see now (START when there is none).

    A reader that starts here gets every event that commits after this call.
    """
    visible = _visible(await _horizon(conn))
    query = (
        select(_e.c.xid, _e.c.id).where(visible).order_by(_e.c.xid.desc(), _e.c.id.desc()).limit(1)
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
