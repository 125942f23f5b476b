"""Webhook subscriptions: create, change, rotate, test; the delivery log; redeliver."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from resolvers import validation
from resolvers import webhook_validation as check
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput, NotFound
from resolvers.pagination import Page, encode_cursor, make_page, page_request
from storage.clock import utcnow
from storage.enums import Role, Stage
from storage.queries import deliveries, webhooks
from storage.records import AttemptRecord, DeliveryRecord, WebhookRecord
from webhooks import message
from webhooks.events import new_message_id
from webhooks.filters import TEST_EVENT
from webhooks.sealing import SecretUnavailable, live_secrets
from webhooks.sender import Outcome
from webhooks.signing import new_secret


@dataclass(frozen=True, slots=True)
class WithSecret:
    """A webhook and its new secret: the only time the secret is shown."""

    webhook: WebhookRecord
    secret: str


@dataclass(frozen=True, slots=True)
class WebhookChanges:
    url: str | None = None
    events: Sequence[str] | None = None
    model_names: Sequence[str] | None = None
    stages: Sequence[Stage] | None = None
    description: str | None = None


def parse_id(value: str, field: str = "id") -> int:
    """An id given as a string (GraphQL `ID`): ASCII digits, within a 64-bit column."""
    try:
        return validation.ascii_integer(value, field)
    except BadUserInput:
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise BadUserInput(f"{field} {shown!r} is not an id", field=field) from None


def webhook_not_found(webhook_id: int) -> NotFound:
    return NotFound(f"webhook {webhook_id} does not exist", webhook=str(webhook_id))


async def _checked(ctx: RequestContext, changes: WebhookChanges) -> dict[str, Any]:
    """The columns to write, each validated; only those given."""
    allow_private = ctx.webhooks.config.allow_private_networks
    values: dict[str, Any] = {}
    if changes.events is not None:
        values["event_types"] = check.event_patterns(changes.events)
    if changes.model_names is not None:
        values["model_names"] = check.model_names(changes.model_names)
    if changes.stages is not None:
        values["stages"] = check.stages(changes.stages)
    if changes.description is not None:
        values["description"] = validation.text(
            changes.description, "description", validation.DESCRIPTION_MAX
        )
    # Last: the URL check resolves the host name, the others cost nothing.
    if changes.url is not None:
        values["url"] = await check.url(changes.url, allow_private=allow_private)
    return values


async def create_webhook(ctx: RequestContext, changes: WebhookChanges) -> WithSecret:
    ctx.authorize(Role.ADMIN)
    if changes.url is None or changes.events is None:
        raise BadUserInput("url and events are required", field="url")
    values = await _checked(ctx, changes)
    values.setdefault("model_names", [])
    values.setdefault("stages", [])
    secret, now = new_secret(), utcnow()
    async with ctx.transaction() as conn:
        record = await webhooks.insert_webhook(
            conn,
            **values,
            secret=ctx.webhooks.box.seal(secret),
            active=True,
            created_at=now,
            updated_at=now,
            created_by=ctx.actor,
            updated_by=ctx.actor,
        )
    return WithSecret(record, secret)


async def _update(ctx: RequestContext, webhook_id: int, **values: Any) -> WebhookRecord:
    async with ctx.transaction() as conn:
        record = await webhooks.update_webhook(
            conn, webhook_id, actor=ctx.actor, now=utcnow(), **values
        )
    if record is None:
        raise webhook_not_found(webhook_id)
    return record


async def update_webhook(
    ctx: RequestContext, webhook_id: int, changes: WebhookChanges
) -> WebhookRecord:
    ctx.authorize(Role.ADMIN)
    values = await _checked(ctx, changes)
    return await _update(ctx, webhook_id, **values)


async def set_active(
    ctx: RequestContext, webhook_id: int, *, active: bool, reason: str | None = None
) -> WebhookRecord:
    """Enable (clearing the reason and the failure run) or disable an endpoint."""
    ctx.authorize(Role.ADMIN)
    if active:
        record = await _update(
            ctx, webhook_id, active=True, disabled_reason=None, failing_since=None
        )
        ctx.webhooks.wake()  # deliveries held while it was disabled are due now
        return record
    reason = validation.text(reason, "reason", validation.COMMENT_MAX) or "disabled by operator"
    return await _update(ctx, webhook_id, active=False, disabled_reason=f"{reason} ({ctx.actor})")


async def delete_webhook(ctx: RequestContext, webhook_id: int) -> WebhookRecord:
    ctx.authorize(Role.ADMIN)
    async with ctx.transaction() as conn:
        record = await webhooks.get_webhook(conn, webhook_id)
        if record is None:
            raise webhook_not_found(webhook_id)
        await webhooks.delete_webhook(conn, webhook_id)
    return record


async def rotate_secret(ctx: RequestContext, webhook_id: int) -> WithSecret:
    """A new secret; the old one keeps signing beside it for the overlap (24 h)."""
    ctx.authorize(Role.ADMIN)
    secret, now = new_secret(), utcnow()
    overlap = timedelta(seconds=ctx.webhooks.config.rotation_overlap_seconds)
    async with ctx.transaction() as conn:
        current = await webhooks.get_webhook(conn, webhook_id)
        if current is None:
            raise webhook_not_found(webhook_id)
        record = await webhooks.update_webhook(
            conn,
            webhook_id,
            actor=ctx.actor,
            now=now,
            secret=ctx.webhooks.box.seal(secret),
            previous_secret=current.secret,
            previous_secret_expires_at=now + overlap,
        )
    assert record is not None
    return WithSecret(record, secret)


async def get_webhook(ctx: RequestContext, webhook_id: int) -> WebhookRecord:
    ctx.authorize(Role.ADMIN)
    async with ctx.read() as conn:
        record = await webhooks.get_webhook(conn, webhook_id)
    if record is None:
        raise webhook_not_found(webhook_id)
    return record


async def list_webhooks(
    ctx: RequestContext, first: int | None, after: str | None
) -> Page[WebhookRecord]:
    ctx.authorize(Role.ADMIN)
    page = page_request(first, after, "webhooks", (int,), descending=False)
    async with ctx.read() as conn:
        rows = await webhooks.list_webhooks(conn, page)

    async def count() -> int:
        async with ctx.read() as conn:
            return await webhooks.count_webhooks(conn)

    return make_page(rows, page, lambda w: encode_cursor("webhooks", w.id), count)


async def test_webhook(ctx: RequestContext, webhook_id: int) -> Outcome:
    """Send a signed `webhook.test` event now, outside the delivery log.

    The caller gets the status code, latency and error, never the response
    body: the endpoint cannot be used to read what an internal service answers.
    """
    ctx.authorize(Role.ADMIN)
    record = await get_webhook(ctx, webhook_id)
    now = utcnow()
    try:
        # Signed like a delivery: during a rotation the old secret signs too.
        secrets = live_secrets(
            ctx.webhooks.box,
            record.secret,
            record.previous_secret,
            record.previous_secret_expires_at,
            now,
        )
    except SecretUnavailable as problem:
        return Outcome(None, 0.0, f"cannot sign: {problem}", None, None)
    body = message.body(TEST_EVENT, now, {"webhook": str(record.id), "url": record.url})
    headers = message.headers(new_message_id(), now, body, secrets)
    return await ctx.webhooks.sender.post(record.url, body, headers)


async def page_of_deliveries(
    ctx: RequestContext,
    webhook_id: int,
    *,
    status: str | None,
    first: int | None,
    after: str | None,
) -> Page[DeliveryRecord]:
    kind = f"deliveries:{status or 'all'}"
    page = page_request(first, after, kind, (int,), descending=True)
    async with ctx.read() as conn:
        rows = await deliveries.deliveries_page(conn, webhook_id, status, page)

    async def count() -> int:
        async with ctx.read() as conn:
            return await deliveries.count_deliveries(conn, webhook_id, status)

    return make_page(rows, page, lambda d: encode_cursor(kind, d.id), count)


async def attempts_of(
    ctx: RequestContext, delivery_ids: Sequence[int]
) -> dict[int, list[AttemptRecord]]:
    async with ctx.read() as conn:
        return await deliveries.attempts_of(conn, delivery_ids)


async def redeliver(ctx: RequestContext, delivery_id: int) -> DeliveryRecord:
    """Send a delivery again (same `webhook-id`), with a fresh retry schedule."""
    ctx.authorize(Role.ADMIN)
    async with ctx.transaction() as conn:
        record = await deliveries.get_delivery(conn, delivery_id)
        if record is None:
            raise NotFound(f"delivery {delivery_id} does not exist", delivery=str(delivery_id))
        await deliveries.schedule_again(conn, delivery_id, utcnow())
        record = await deliveries.get_delivery(conn, delivery_id)
    assert record is not None
    ctx.webhooks.wake()
    return record
