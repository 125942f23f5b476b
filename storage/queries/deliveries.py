"""The delivery log: deliveries of logged events, claims, attempts, pruning.

A delivery is claimable when it is PENDING, due, not leased by a live
dispatcher, its webhook is active, and no earlier PENDING delivery shares its
(webhook, ordering key): deliveries of one model to one endpoint go out in order.
"""

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, exists, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.pagination import PageRequest, keyset_page, page_parameters
from storage.records import AttemptRecord, DeliveryRecord, event_data
from storage.rows import AnyRow
from storage.tables import (
    webhook_attempts,
    webhook_deliveries,
    webhook_events,
    webhooks,
)

PENDING, SUCCEEDED, FAILED = "PENDING", "SUCCEEDED", "FAILED"
NOTIFY_CHANNEL = "modelreg_webhooks"

_d, _e, _w = webhook_deliveries, webhook_events, webhooks


_INSERT_DELIVERIES = insert(_d)


async def insert_deliveries(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    await conn.execute(_INSERT_DELIVERIES, list(rows))


async def notify_dispatchers(conn: AsyncConnection) -> None:
    """Wake dispatchers in other processes when this transaction commits (PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))


@dataclass(frozen=True, slots=True)
class Claimed:
    """A leased delivery with everything needed to send it."""

    id: int
    message_id: str
    webhook_id: int
    attempt_count: int
    event_type: str
    event_data: dict[str, Any]
    event_created_at: datetime
    # The request that made the event (None for events older than migration 0006).
    event_request_id: str | None
    url: str
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: datetime | None
    # Set when an earlier claim's lease ran out before its attempt was recorded.
    interrupted_lease: datetime | None


INTERRUPTED = (
    "interrupted: a dispatcher claimed this delivery and stopped before recording its "
    "attempt (its lease ran out at {lease}); the endpoint may have received it"
)

_earlier = webhook_deliveries.alias("earlier")
_CLAIMABLE = (
    select(
        _d.c.id,
        _d.c.message_id,
        _d.c.webhook_id,
        _d.c.attempt_count,
        _e.c.type,
        _e.c.data,
        _e.c.created_at,
        _e.c.request_id,
        _w.c.url,
        _w.c.secret,
        _w.c.previous_secret,
        _w.c.previous_secret_expires_at,
        _d.c.lease_expires_at,
        _e.c.sequence,  # added to event_data (see storage/records.event_data)
    )
    .join(_e, _e.c.id == _d.c.event_id)
    .join(_w, _w.c.id == _d.c.webhook_id)
    .where(
        _d.c.status == PENDING,
        _d.c.next_attempt_at <= bindparam("now"),
        or_(_d.c.lease_expires_at.is_(None), _d.c.lease_expires_at < bindparam("now")),
        _w.c.active.is_(True),
        _d.c.webhook_id.not_in(bindparam("busy", expanding=True)),
        ~exists().where(
            _earlier.c.webhook_id == _d.c.webhook_id,
            _earlier.c.ordering_key == _d.c.ordering_key,
            _earlier.c.status == PENDING,
            _earlier.c.id < _d.c.id,
        ),
    )
    .order_by(_d.c.next_attempt_at, _d.c.id)
    .limit(bindparam("limit"))
    # PostgreSQL: concurrent dispatchers skip each other's rows instead of waiting.
    .with_for_update(of=_d, skip_locked=True)
)
_LEASE = (
    update(_d)
    .where(_d.c.id.in_(bindparam("ids", expanding=True)))
    .values(lease_expires_at=bindparam("until"))
)


async def claim(
    conn: AsyncConnection,
    *,
    now: datetime,
    lease_until: datetime,
    limit: int,
    room: Mapping[int, int],
    per_webhook: int,
) -> list[Claimed]:
    """Lease up to `limit` due deliveries, and per webhook no more than it has room for.

    `room` holds the free slots of webhooks that have requests in flight (none
    for a webhook means `per_webhook`); webhooks without room are not even read.

    Call inside a transaction: the rows stay locked (PostgreSQL) or the whole
    database is (SQLite) until the lease is committed.
    """
    busy = [webhook_id for webhook_id, slots in room.items() if slots <= 0]
    rows = await conn.execute(_CLAIMABLE, {"now": now, "limit": limit, "busy": busy or [-1]})
    free = dict(room)
    claimed: list[Claimed] = []
    for row in rows:
        if free.setdefault(row.webhook_id, per_webhook) <= 0:
            continue
        free[row.webhook_id] -= 1
        *columns, sequence = row  # the columns of _CLAIMABLE, in order
        found = Claimed(*columns)
        found = dataclasses.replace(found, event_data=event_data(found.event_data, sequence))
        if found.interrupted_lease is not None:  # that attempt counts (see _log_interrupted)
            found = dataclasses.replace(found, attempt_count=found.attempt_count + 1)
        claimed.append(found)
    if claimed:
        await conn.execute(_LEASE, {"ids": [c.id for c in claimed], "until": lease_until})
        await _log_interrupted(conn, [c for c in claimed if c.interrupted_lease], now)
    return claimed


_COUNT_INTERRUPTED = (
    update(_d)
    .where(_d.c.id.in_(bindparam("ids", expanding=True)))
    .values(attempt_count=_d.c.attempt_count + 1)
)


async def _log_interrupted(
    conn: AsyncConnection, claimed: Sequence[Claimed], now: datetime
) -> None:
    """An attempt row for each delivery whose previous claim never recorded its attempt.

    A dispatcher killed mid-send leaves its lease to run out; whether its POST
    reached the endpoint is unknown, so the log says it may have (the next
    attempt carries the same webhook-id, and consumers drop duplicates by it).
    """
    if not claimed:
        return
    await conn.execute(
        _INSERT_ATTEMPTS,
        [
            {
                "delivery_id": c.id,
                "attempted_at": now,
                "status_code": None,
                "duration_ms": 0.0,
                "error": INTERRUPTED.format(lease=c.interrupted_lease.isoformat()),
                "response_body": None,
            }
            for c in claimed
            if c.interrupted_lease is not None
        ],
    )
    await conn.execute(_COUNT_INTERRUPTED, {"ids": [c.id for c in claimed]})


_RELEASE = (
    update(_d)
    .where(_d.c.id.in_(bindparam("ids", expanding=True)), _d.c.status == PENDING)
    .values(lease_expires_at=None)
)


async def release(conn: AsyncConnection, delivery_ids: Sequence[int]) -> None:
    """Give up the leases of claimed deliveries that were never sent: claimable again at once."""
    if delivery_ids:
        await conn.execute(_RELEASE, {"ids": list(delivery_ids)})


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """One finished attempt and what it means for its delivery."""

    delivery_id: int
    webhook_id: int
    attempted_at: datetime
    status_code: int | None
    duration_ms: float
    error: str | None
    response_body: str | None
    status: str  # the delivery's new status
    next_attempt_at: datetime


_INSERT_ATTEMPTS = insert(webhook_attempts)
_FINISH_ATTEMPT = (
    update(_d)
    .where(_d.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        attempt_count=_d.c.attempt_count + 1,
        next_attempt_at=bindparam("b_next"),
        lease_expires_at=None,
        completed_at=bindparam("b_completed"),
    )
)


async def record_attempts(conn: AsyncConnection, results: Sequence[AttemptResult]) -> None:
    """Log the attempts and move their deliveries on, in two statements."""
    await conn.execute(
        _INSERT_ATTEMPTS,
        [
            {
                "delivery_id": r.delivery_id,
                "attempted_at": r.attempted_at,
                "status_code": r.status_code,
                "duration_ms": r.duration_ms,
                "error": r.error,
                "response_body": r.response_body,
            }
            for r in results
        ],
    )
    await conn.execute(
        _FINISH_ATTEMPT,
        [
            {
                "b_id": r.delivery_id,
                "b_status": r.status,
                "b_next": r.next_attempt_at,
                "b_completed": None if r.status == PENDING else r.attempted_at,
            }
            for r in results
        ],
    )


_DELIVERY_COLUMNS = (
    _d.c.id,
    _d.c.message_id,
    _d.c.webhook_id,
    _d.c.event_id,
    _e.c.type,
    _e.c.model_name,
    _e.c.sequence,
    _d.c.status,
    _d.c.attempt_count,
    _d.c.next_attempt_at,
    _d.c.created_at,
    _d.c.completed_at,
)
_DELIVERIES = select(*_DELIVERY_COLUMNS).join(_e, _e.c.id == _d.c.event_id)


def _delivery(row: AnyRow) -> DeliveryRecord:
    return DeliveryRecord(*row[: len(_DELIVERY_COLUMNS)])


async def deliveries_page(
    conn: AsyncConnection, webhook_id: int, status: str | None, page: PageRequest
) -> list[DeliveryRecord]:
    """A page of the webhook's deliveries, newest first."""
    query = _DELIVERIES.where(_d.c.webhook_id == webhook_id)
    if status is not None:
        query = query.where(_d.c.status == status)
    query = keyset_page(query, (_d.c.id,), descending=True, after=page.after is not None)
    return [_delivery(row) for row in await conn.execute(query, page_parameters(page))]


async def count_deliveries(conn: AsyncConnection, webhook_id: int, status: str | None) -> int:
    query = select(func.count()).select_from(_d).where(_d.c.webhook_id == webhook_id)
    if status is not None:
        query = query.where(_d.c.status == status)
    return int((await conn.execute(query)).scalar_one())


async def get_delivery(conn: AsyncConnection, delivery_id: int) -> DeliveryRecord | None:
    row = (await conn.execute(_DELIVERIES.where(_d.c.id == delivery_id))).first()
    return _delivery(row) if row is not None else None


async def attempts_of(
    conn: AsyncConnection, delivery_ids: Sequence[int]
) -> dict[int, list[AttemptRecord]]:
    """Every attempt of each delivery, oldest first, in one statement."""
    query = (
        select(*webhook_attempts.c)
        .where(webhook_attempts.c.delivery_id.in_(list(delivery_ids)))
        .order_by(webhook_attempts.c.delivery_id, webhook_attempts.c.id)
    )
    grouped: dict[int, list[AttemptRecord]] = {i: [] for i in delivery_ids}
    for row in await conn.execute(query):
        grouped[row.delivery_id].append(AttemptRecord(*row))
    return grouped


async def schedule_again(conn: AsyncConnection, delivery_id: int, now: datetime) -> None:
    """Make a delivery PENDING and due now, with a fresh retry schedule (redeliver)."""
    await conn.execute(
        update(_d)
        .where(_d.c.id == delivery_id)
        .values(
            status=PENDING,
            attempt_count=0,
            next_attempt_at=now,
            lease_expires_at=None,
            completed_at=None,
        )
    )


async def prune(conn: AsyncConnection, before: datetime) -> int:
    """Delete finished deliveries (with their attempts) that completed before `before`.

    Their events stay in the event log, which has its own retention (see queries/events.py).
    """
    finished = await conn.execute(
        delete(_d).where(and_(_d.c.status != PENDING, _d.c.completed_at < before))
    )
    return int(finished.rowcount or 0)
