"""Webhook subscriptions: rows, filters, secrets, enable/disable."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.pagination import PageRequest, keyset_page, page_parameters
from storage.records import WebhookRecord
from storage.rows import AnyRow
from storage.tables import webhooks

_COLUMNS = tuple(webhooks.c)
_BY_ID = select(*_COLUMNS).where(webhooks.c.id == bindparam("id"))
_ACTIVE = select(*_COLUMNS).where(webhooks.c.active.is_(True)).order_by(webhooks.c.id)
_DELETE = delete(webhooks).where(webhooks.c.id == bindparam("id")).returning(webhooks.c.id)
_PAGE = keyset_page(select(*_COLUMNS), (webhooks.c.id,), descending=False, after=False)
_PAGE_AFTER = keyset_page(select(*_COLUMNS), (webhooks.c.id,), descending=False, after=True)


def _record(row: AnyRow) -> WebhookRecord:
    return WebhookRecord(*row[: len(_COLUMNS)])


async def insert_webhook(conn: AsyncConnection, **values: Any) -> WebhookRecord:
    row = (await conn.execute(insert(webhooks).values(**values).returning(*_COLUMNS))).one()
    return _record(row)


async def get_webhook(conn: AsyncConnection, webhook_id: int) -> WebhookRecord | None:
    row = (await conn.execute(_BY_ID, {"id": webhook_id})).first()
    return _record(row) if row is not None else None


async def active_webhooks(conn: AsyncConnection) -> list[WebhookRecord]:
    return [_record(row) for row in await conn.execute(_ACTIVE)]


async def list_webhooks(conn: AsyncConnection, page: PageRequest) -> list[WebhookRecord]:
    statement = _PAGE_AFTER if page.after is not None else _PAGE
    return [_record(row) for row in await conn.execute(statement, page_parameters(page))]


async def update_webhook(
    conn: AsyncConnection, webhook_id: int, *, actor: str, now: datetime, **values: Any
) -> WebhookRecord | None:
    """Change the given columns (and who changed them when); None if there is no such webhook."""
    statement = (
        update(webhooks)
        .where(webhooks.c.id == webhook_id)
        .values(updated_at=now, updated_by=actor, **values)
        .returning(*_COLUMNS)
    )
    row = (await conn.execute(statement)).first()
    return _record(row) if row is not None else None


async def delete_webhook(conn: AsyncConnection, webhook_id: int) -> bool:
    return (await conn.execute(_DELETE, {"id": webhook_id})).first() is not None


async def record_outcomes(
    conn: AsyncConnection, outcomes: Sequence[tuple[int, bool]], now: datetime
) -> None:
    """Track each endpoint's run of failures: cleared by a success, started by a failure."""
    succeeded = sorted({webhook_id for webhook_id, ok in outcomes if ok})
    failed = sorted({webhook_id for webhook_id, ok in outcomes if not ok} - set(succeeded))
    if succeeded:
        await conn.execute(
            update(webhooks)
            .where(webhooks.c.id.in_(succeeded), webhooks.c.failing_since.is_not(None))
            .values(failing_since=None)
        )
    if failed:
        await conn.execute(
            update(webhooks)
            .where(webhooks.c.id.in_(failed), webhooks.c.failing_since.is_(None))
            .values(failing_since=now)
        )


async def disable_failing(conn: AsyncConnection, since: datetime, reason: str) -> list[int]:
    """Disable active endpoints that have failed without a success since before `since`."""
    statement = (
        update(webhooks)
        .where(webhooks.c.active.is_(True), webhooks.c.failing_since < since)
        .values(active=False, disabled_reason=reason)
        .returning(webhooks.c.id)
    )
    return list((await conn.execute(statement)).scalars())


async def disable(conn: AsyncConnection, webhook_id: int, reason: str) -> None:
    await conn.execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id)
        .values(active=False, disabled_reason=reason)
    )


_COUNT = select(func.count()).select_from(webhooks)


async def count_webhooks(conn: AsyncConnection) -> int:
    return int((await conn.execute(_COUNT)).scalar_one())


_SEALED = (
    select(webhooks.c.id, webhooks.c.secret, webhooks.c.previous_secret)
    .order_by(webhooks.c.id)
    .with_for_update()  # a rotation racing a re-seal waits for it (PostgreSQL)
)
_SET_SEALED = (
    update(webhooks)
    .where(webhooks.c.id == bindparam("webhook_id"))
    .values(secret=bindparam("sealed"), previous_secret=bindparam("previous_sealed"))
)


async def sealed_secrets(conn: AsyncConnection) -> list[tuple[int, str, str | None]]:
    """Every webhook's stored secret and previous secret, as stored (sealed)."""
    return [(row.id, row.secret, row.previous_secret) for row in await conn.execute(_SEALED)]


async def set_sealed_secrets(
    conn: AsyncConnection, secrets: Sequence[tuple[int, str, str | None]]
) -> None:
    """Store (webhook id, secret, previous secret), sealed anew; nothing else changes."""
    if secrets:
        await conn.execute(
            _SET_SEALED,
            [
                {"webhook_id": webhook_id, "sealed": sealed, "previous_sealed": previous}
                for webhook_id, sealed, previous in secrets
            ],
        )
