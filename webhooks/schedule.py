"""When to try again: the retry schedule with jitter, honouring Retry-After."""

import secrets
from datetime import datetime, timedelta

from webhooks.config import DeliveryConfig

_random = secrets.SystemRandom()
# A receiver may ask for a pause, not park its deliveries forever.
MAX_RETRY_AFTER_SECONDS = 86400.0


def next_attempt_at(
    config: DeliveryConfig, attempts_made: int, now: datetime, retry_after: float | None
) -> datetime | None:
    """When attempt number `attempts_made + 1` is due; None when the schedule is used up.

    The delay varies by about ±`jitter` so endpoints that fail together are not
    retried in lockstep. A receiver's Retry-After is honoured when it asks for
    more time, up to a day.
    """
    if attempts_made >= config.max_attempts:
        return None
    delay = config.retry_schedule[attempts_made - 1]
    delay *= 1 + _random.uniform(-config.jitter, config.jitter)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
    return now + timedelta(seconds=delay)
