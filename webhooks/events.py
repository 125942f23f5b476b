"""Recording events in the transaction of the change they announce (the outbox).

`publish` numbers the events of a model, writes them to the event log, and
writes one delivery row per webhook subscription that matches an event as
the subscriptions are at this very moment. All of it commits or rolls back
with the change itself, so no event is lost and none is invented. The log
is written whether or not anything subscribes: live subscriptions and the
`events` query read it too.
"""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from storage.queries import deliveries, webhooks
from storage.queries import events as event_log
from webhooks.filters import matches


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    data: dict[str, Any]
    # The stage a version moved into, for subscriptions that filter on stages.
    stage: str | None = None

    @property
    def version(self) -> int | None:
        """The version the event is about: its `modelVersion`, a rollback's restored
        version, or an alias event's `version`; None for events of a whole model."""
        for key in ("modelVersion", "restored"):
            found = self.data.get(key)
            if isinstance(found, dict):
                number = found.get("version")
                return number if isinstance(number, int) else None
        number = self.data.get("version")
        return number if isinstance(number, int) else None


def new_message_id() -> str:
    """The `webhook-id` of one event sent to one endpoint."""
    return "msg_" + secrets.token_urlsafe(18)


async def publish(
    conn: AsyncConnection,
    model_name: str | None,
    events: Sequence[Event],
    now: datetime,
    request_id: str | None = None,
    actor: str | None = None,
) -> int:
    """Log `events` of `model_name` in the caller's transaction; return the deliveries made.

    Each event of a model takes the model's next `sequence` number, so
    consumers see them increase by one (the database assigns it on insert).
    """
    if not events:
        return 0
    # No `sequence`: the events' INSERT numbers them (see storage/queries/events.py).
    rows = [
        {
            "type": event.type,
            "model_name": model_name,
            "sequence": None,
            "data": event.data,
            "created_at": now,
            "request_id": request_id,
            "actor": actor,
            "version": event.version,
            "stage": event.stage,
        }
        for event in events
    ]
    logged = await event_log.insert_events(conn, rows)
    subscriptions = await webhooks.active_webhooks(conn) if logged.any_webhook else []
    delivery_rows = [
        {
            "message_id": new_message_id(),
            "webhook_id": w.id,
            "event_id": event_id,
            "ordering_key": model_name or "",
            "status": deliveries.PENDING,
            "attempt_count": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for event_id, event in zip(logged.ids, events, strict=True)
        for w in subscriptions
        if matches(
            patterns=w.event_types,
            model_names=w.model_names,
            stages=w.stages,
            event_type=event.type,
            model_name=model_name,
            stage=event.stage,
        )
    ]
    if delivery_rows:
        await deliveries.insert_deliveries(conn, delivery_rows)
        await deliveries.notify_dispatchers(conn)
    return len(delivery_rows)
