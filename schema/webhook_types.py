"""Webhook subscriptions and their delivery log."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from resolvers import limits
from resolvers import webhooks as use_cases
from schema.connections import Connection, connection
from schema.enums import Stage
from schema.types import Ctx
from storage.records import AttemptRecord, DeliveryRecord, WebhookRecord


@strawberry.enum(description="Where a delivery stands.")
class DeliveryStatus(Enum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@strawberry.type(description="One HTTP attempt of a delivery.")
class WebhookAttempt:
    attempted_at: datetime
    status_code: int | None
    duration_ms: float
    error: str | None
    response_body: str | None = strawberry.field(
        description="The first 2 KB of what the endpoint answered."
    )

    @staticmethod
    def of(record: AttemptRecord) -> WebhookAttempt:
        return WebhookAttempt(
            attempted_at=record.attempted_at,
            status_code=record.status_code,
            duration_ms=record.duration_ms,
            error=record.error,
            response_body=record.response_body,
        )


@strawberry.type(description="One event sent (or to be sent) to one endpoint.")
class WebhookDelivery:
    _record: strawberry.Private[DeliveryRecord]
    _attempts: strawberry.Private[list[AttemptRecord] | None]
    id: strawberry.ID
    message_id: str = strawberry.field(
        description="Sent as `webhook-id`: the same on every attempt and redelivery."
    )
    event_type: str
    model_name: str | None
    sequence: int | None
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None = strawberry.field(
        description="When the next attempt is due, while PENDING."
    )
    created_at: datetime
    completed_at: datetime | None

    @staticmethod
    def of(record: DeliveryRecord, attempts: list[AttemptRecord] | None = None) -> WebhookDelivery:
        return WebhookDelivery(
            _record=record,
            _attempts=attempts,
            id=strawberry.ID(str(record.id)),
            message_id=record.message_id,
            event_type=record.event_type,
            model_name=record.model_name,
            sequence=record.sequence,
            status=DeliveryStatus(record.status),
            attempt_count=record.attempt_count,
            next_attempt_at=record.next_attempt_at if record.status == "PENDING" else None,
            created_at=record.created_at,
            completed_at=record.completed_at,
        )

    @strawberry.field(description="Every attempt, oldest first (the latest 100).")
    async def attempts(self, info: Ctx) -> list[WebhookAttempt]:
        found = self._attempts
        if found is None:
            found = (await use_cases.attempts_of(info.context, [self._record.id]))[self._record.id]
        shown = limits.newest_of_oldest_first(found, limits.LISTED_ATTEMPTS)
        return [WebhookAttempt.of(a) for a in shown]


@strawberry.type(description="A subscription: signed POSTs of matching events to a URL.")
class Webhook:
    _record: strawberry.Private[WebhookRecord]
    id: strawberry.ID
    url: str
    events: list[str] = strawberry.field(
        description="Event types: exact, `*`, or a prefix such as `model_version.*`."
    )
    model_names: list[str] = strawberry.field(description="Only these models (empty: all).")
    stages: list[Stage] = strawberry.field(
        description="Only stage changes into these stages (empty: no stage filter)."
    )
    description: str
    active: bool
    disabled_reason: str | None
    failing_since: datetime | None = strawberry.field(
        description="Start of the current run of failed attempts."
    )
    secret_rotation_ends_at: datetime | None = strawberry.field(
        description="Until then the previous secret signs too (after rotateWebhookSecret)."
    )
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str

    @staticmethod
    def of(record: WebhookRecord) -> Webhook:
        return Webhook(
            _record=record,
            id=strawberry.ID(str(record.id)),
            url=record.url,
            events=record.event_types,
            model_names=record.model_names,
            stages=[Stage(s) for s in record.stages],
            description=record.description,
            active=record.active,
            disabled_reason=record.disabled_reason,
            failing_since=record.failing_since,
            secret_rotation_ends_at=record.previous_secret_expires_at,
            created_at=record.created_at,
            updated_at=record.updated_at,
            created_by=record.created_by,
            updated_by=record.updated_by,
        )

    @strawberry.field(description="The delivery log, newest first.")
    async def deliveries(
        self,
        info: Ctx,
        first: int | None = 20,
        after: str | None = None,
        status: DeliveryStatus | None = None,
    ) -> Connection[WebhookDelivery]:
        page = await use_cases.page_of_deliveries(
            info.context,
            self._record.id,
            status=status.value if status else None,
            first=first,
            after=after,
        )
        # All attempts of the page in one query, not one per delivery.
        attempts = await use_cases.attempts_of(info.context, [d.id for d in page.items])
        return connection(page, lambda d: WebhookDelivery.of(d, attempts[d.id]), after=after)
