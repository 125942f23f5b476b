"""One HTTP message of the Standard Webhooks wire format."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from webhooks.payloads import timestamp
from webhooks.signing import signature_header


def body(event_type: str, created_at: datetime, data: dict[str, Any]) -> bytes:
    """`{"type", "timestamp", "data"}`: the same bytes on every attempt."""
    return orjson.dumps({"type": event_type, "timestamp": timestamp(created_at), "data": data})


def headers(
    message_id: str, sent_at: datetime, payload: bytes, secrets: Sequence[str]
) -> dict[str, str]:
    """Headers of one attempt: the id is stable, the timestamp is this attempt's."""
    seconds = int(sent_at.timestamp())
    return {
        "content-type": "application/json",
        "user-agent": "modelreg-webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(seconds),
        "webhook-signature": signature_header(secrets, message_id, seconds, payload),
    }
