"""Recording events in the transaction of the change they announce (the outbox).

`publish` numbers the events of a model, matches them against the active
subscriptions as they are at this very moment, and writes one outbox row per
event and one delivery row per matching subscription. All of it commits or
rolls back with the change itself, so no event is lost and none is invented.
"""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from storage.queries import deliveries, webhooks
from webhooks.filters import matches


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    data: dict[str, Any]
    # The stage a version moved into, for subscriptions that filter on stages.
    stage: str | None = None


def new_message_id() -> str:
    """The `webhook-id` of one event sent to one endpoint."""
    return "msg_" + secrets.token_urlsafe(18)


async def publish(
    conn: AsyncConnection,
    model_name: str | None,
    events: Sequence[Event],
    now: datetime,
    request_id: str | None = None,
) -> int:
    """Record `events` of `model_name` in the caller's transaction; return the deliveries made.

    Events that no subscription wants are not stored, and while nothing is
    subscribed a change costs one extra read. Sequence numbers are taken only
    when something is sent: consumers see them increase, with gaps.
    """
    subscriptions = await webhooks.active_webhooks(conn) if events else []
    targets = [
        [
            w.id
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
        for event in events
    ]
    if not any(targets):
        return 0
    last = await deliveries.next_sequences(conn, model_name, len(events)) if model_name else None
    event_rows: list[dict[str, Any]] = []
    for i, event in enumerate(events):
        sequence = None if last is None else last - len(events) + 1 + i
        data = event.data if sequence is None else {**event.data, "sequence": sequence}
        event_rows.append(
            {
                "type": event.type,
                "model_name": model_name,
                "sequence": sequence,
                "data": data,
                "created_at": now,
                "request_id": request_id,
            }
        )
    kept = [(row, ids) for row, ids in zip(event_rows, targets, strict=True) if ids]
    event_rows, targets = [row for row, _ in kept], [ids for _, ids in kept]
    event_ids = await deliveries.insert_events(conn, event_rows)
    delivery_rows = [
        {
            "message_id": new_message_id(),
            "webhook_id": webhook_id,
            "event_id": event_id,
            "ordering_key": model_name or "",
            "status": deliveries.PENDING,
            "attempt_count": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for event_id, webhook_ids in zip(event_ids, targets, strict=True)
        for webhook_id in webhook_ids
    ]
    await deliveries.insert_deliveries(conn, delivery_rows)
    await deliveries.notify_dispatchers(conn)
    return len(delivery_rows)
