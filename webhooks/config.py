"""How webhooks are delivered; `server.settings` fills it from MODELREG_WEBHOOK_* variables."""

from dataclasses import dataclass, field

# Like Svix: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after the first attempt.
DEFAULT_RETRY_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    allow_private_networks: bool = False
    timeout_seconds: float = 10.0
    retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    jitter: float = 0.2
    poll_interval_seconds: float = 1.0
    concurrency_per_endpoint: int = 8
    max_in_flight: int = 256
    disable_after_seconds: float = 5 * 86400.0
    retention_seconds: float = 30 * 86400.0
    # How long the event log keeps events (those a delivery still refers to stay longer).
    event_retention_seconds: float = 30 * 86400.0
    maintenance_interval_seconds: float = 60.0
    rotation_overlap_seconds: float = 86400.0
    # Webhook secrets at rest: the current key first, then previous ones (see sealing.py).
    secret_keys: tuple[str, ...] = field(default=(), repr=False)
    # How long a claim lasts; None: 2 attempt timeouts plus 30 s for the database
    # (the claim is taken before the attempt and released when it is recorded).
    lease_override_seconds: float | None = None

    @property
    def lease_seconds(self) -> float:
        if self.lease_override_seconds is not None:
            return self.lease_override_seconds
        return 2 * self.timeout_seconds + 30.0

    @property
    def max_attempts(self) -> int:
        return len(self.retry_schedule) + 1
