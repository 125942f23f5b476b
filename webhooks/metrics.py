"""What the dispatcher counts: attempts by outcome, delivery latency, endpoints it disabled.

The backlog (pending deliveries, the age of the oldest due one) is read from
the database when Prometheus scrapes (server/metrics_endpoint.py): it is the
same whichever process answers, and right after a restart too.
"""

from datetime import datetime, timedelta

from prometheus_client import Counter, Histogram

from storage.queries.deliveries import Claimed
from webhooks.sender import Outcome

ATTEMPTS = Counter(
    "modelreg_webhook_attempts",
    "Delivery attempts by outcome: 2xx, 3xx, 4xx, 5xx (the status the endpoint answered), "
    "timeout, blocked (SSRF guard), error (connection failed, cannot sign)",
    ["outcome"],
)
DELIVERY_LATENCY = Histogram(
    "modelreg_webhook_delivery_latency_seconds",
    "From an event's commit to the end of the attempt that delivered it (2xx)",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600),
)
ENDPOINTS_DISABLED = Counter(
    "modelreg_webhook_endpoints_disabled",
    "Endpoints the dispatcher disabled: failing (every delivery failed for too long), "
    "gone (it answered 410)",
    ["reason"],
)


def outcome_label(outcome: Outcome) -> str:
    if outcome.status_code is not None:
        return f"{outcome.status_code // 100}xx"
    error = outcome.error or ""
    # The sender's own wording (webhooks/sender.py) tells these apart.
    if error.startswith("timed out"):
        return "timeout"
    if error.startswith("blocked:"):
        return "blocked"
    return "error"


def attempted(delivery: Claimed, attempted_at: datetime, outcome: Outcome) -> None:
    """Count one finished attempt; a success also times its event's way to the endpoint."""
    ATTEMPTS.labels(outcome_label(outcome)).inc()
    if outcome.succeeded:
        answered_at = attempted_at + timedelta(milliseconds=outcome.duration_ms)
        latency = (answered_at - delivery.event_created_at).total_seconds()
        DELIVERY_LATENCY.observe(max(latency, 0.0))


def disabled(reason: str, count: int = 1) -> None:
    if count:
        ENDPOINTS_DISABLED.labels(reason).inc(count)
