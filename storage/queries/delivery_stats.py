"""The webhook backlog at a glance, for the metrics: pending deliveries, oldest due, endpoints.

Each is one aggregate over the PENDING deliveries (the status index leads
with status), so a scrape costs as much as the backlog is long, and nothing
while it is empty.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.queries.deliveries import PENDING
from storage.tables import webhook_deliveries, webhooks

_d, _w = webhook_deliveries, webhooks


@dataclass(frozen=True, slots=True)
class Backlog:
    pending_by_webhook: dict[int, int]
    # The longest-waiting delivery that is due and not being sent: when it became due.
    oldest_due_at: datetime | None
    active_endpoints: int
    disabled_endpoints: int


_PENDING = (
    select(_d.c.webhook_id, func.count()).where(_d.c.status == PENDING).group_by(_d.c.webhook_id)
)
_ENDPOINTS = select(_w.c.active, func.count()).group_by(_w.c.active)


async def backlog(conn: AsyncConnection, now: datetime) -> Backlog:
    pending = {int(webhook_id): int(n) for webhook_id, n in await conn.execute(_PENDING)}
    oldest = (
        select(func.min(_d.c.next_attempt_at))
        .join(_w, _w.c.id == _d.c.webhook_id)
        .where(
            _d.c.status == PENDING,
            _d.c.next_attempt_at <= now,
            or_(_d.c.lease_expires_at.is_(None), _d.c.lease_expires_at < now),
            _w.c.active.is_(True),
        )
    )
    oldest_due_at = (await conn.execute(oldest)).scalar_one_or_none()
    endpoints = {bool(active): int(n) for active, n in await conn.execute(_ENDPOINTS)}
    return Backlog(pending, oldest_due_at, endpoints.get(True, 0), endpoints.get(False, 0))
