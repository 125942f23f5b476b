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
    conn: AsyncConnection, model_name: str | None, events: Sequence[Event], now: datetime
) -> int:
    """Record `events` of `model_name` in the caller's transaction; return the deliveries made."""
    if not events:
        return 0
    first_sequence: int | None = None
    if model_name is not None:
        first_sequence = (
            await deliveries.next_sequences(conn, model_name, len(events)) - len(events) + 1
        )
    subscriptions = await webhooks.active_webhooks(conn)
    if not subscriptions:
        return 0
    event_rows: list[dict[str, Any]] = []
    targets: list[list[int]] = []
    for i, event in enumerate(events):
        wanted = [
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
        if not wanted:
            continue
        sequence = None if first_sequence is None else first_sequence + i
        data = {**event.data, "sequence": sequence} if sequence is not None else event.data
        event_rows.append(
            {
                "type": event.type,
                "model_name": model_name,
                "sequence": sequence,
                "data": data,
                "created_at": now,
            }
        )
        targets.append(wanted)
    if not event_rows:
        return 0
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
        for event_id, wanted in zip(event_ids, targets, strict=True)
        for webhook_id in wanted
    ]
    await deliveries.insert_deliveries(conn, delivery_rows)
    await deliveries.notify_dispatchers(conn)
    return len(delivery_rows)
