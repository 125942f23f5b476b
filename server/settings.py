"""All settings, from MODELREG_* environment variables (the only place that reads them)."""

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from storage.defaults import DEFAULT_DATABASE_URL
from webhooks.config import DEFAULT_RETRY_SCHEDULE, DeliveryConfig


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MODELREG_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="sqlite+aiosqlite:///path.db (default ./modelreg.db) or "
        "postgresql+asyncpg://user@host/db",
    )
    url: str = Field(
        default="http://127.0.0.1:8000", description="the registry the CI commands talk to"
    )
    token: str | None = Field(
        default=None, description="the API token the CI commands send (Bearer)", repr=False
    )
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1)
    db_pool_size: int = Field(default=10, ge=1, description="connections per process")
    sqlite_busy_timeout_ms: int = Field(
        default=10_000,
        ge=0,
        description="how long a write waits for SQLite's write lock before DATABASE_BUSY",
    )
    db_statement_timeout_ms: int = Field(
        default=30_000,
        ge=0,
        description="PostgreSQL: cancel any statement running longer (QUERY_TIMEOUT); 0: off",
    )
    graphiql: bool = Field(default=True, description="serve GraphiQL on GET /graphql")
    log_level: str = "info"
    log_format: Literal["json", "text"] | None = Field(
        default=None,
        description="json: one object per line; text: readable lines "
        "(default: text when stderr is a terminal, json otherwise)",
    )
    admin_token_file: Path | None = Field(
        default=None,
        description="where the first start writes the admin token when logs are JSON "
        "(default: <database file>.admin-token beside the SQLite database)",
    )
    shutdown_grace_seconds: float = Field(
        default=30.0,
        ge=0,
        description="on SIGTERM, how long requests in flight and webhook sends may take "
        "to finish before they are cut off",
    )
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    auth: Literal["enabled", "disabled"] = Field(
        default="enabled",
        description="`disabled` lets every request act as an admin named anonymous "
        "(local experiments only)",
    )
    auth_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        description="how long a process remembers a valid token; a revocation made "
        "elsewhere takes effect here within this time (0: look up every request)",
    )
    metrics: Literal["token", "open", "off"] = Field(
        default="token",
        description="GET /metrics (Prometheus): `token` needs any valid token (Bearer), "
        "`open` needs none, `off` answers 404",
    )
    worker_metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="`modelreg worker` serves GET /metrics on this port (at MODELREG_HOST); "
        "unset: it serves nothing",
    )
    secret_key: str | None = Field(
        default=None,
        repr=False,
        description="encrypts webhook secrets at rest: a Fernet key or a long passphrase "
        "(default: a key file made beside the SQLite database on first start)",
    )
    secret_key_file: Path | None = Field(
        default=None,
        description="the file holding that key (SQLite: created there on first start; "
        "default <database file>.key); PostgreSQL needs this or MODELREG_SECRET_KEY",
    )
    secret_key_previous: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        repr=False,
        description="keys that sealed older secrets, during a rotation: one key or a JSON list",
    )

    # Webhook delivery (see webhooks/config.py).
    webhook_dispatcher: bool = Field(
        default=True, description="run a dispatcher inside `modelreg serve`"
    )
    webhook_allow_private_networks: bool = Field(
        default=False, description="allow loopback/private targets (tests, on-prem CI)"
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_retry_schedule: tuple[float, ...] = Field(
        default=DEFAULT_RETRY_SCHEDULE,
        description="delays in seconds before each retry, as a JSON list",
    )
    webhook_jitter: float = Field(default=0.2, ge=0, lt=1)
    webhook_poll_interval_seconds: float = Field(default=1.0, gt=0)
    webhook_concurrency_per_endpoint: int = Field(default=8, ge=1)
    webhook_max_in_flight: int = Field(default=256, ge=1)
    webhook_disable_after_seconds: float = Field(default=5 * 86400.0, gt=0)
    webhook_retention_seconds: float = Field(
        default=30 * 86400.0, gt=0, description="how long finished deliveries are kept"
    )
    event_retention_seconds: float = Field(
        default=30 * 86400.0,
        gt=0,
        description="how long the event log keeps events (the `events` query and "
        "subscriptions resume from it); pruned by the webhook dispatcher",
    )
    webhook_maintenance_interval_seconds: float = Field(default=60.0, gt=0)
    webhook_rotation_overlap_seconds: float = Field(default=86400.0, ge=0)
    webhook_lease_seconds: float | None = Field(
        default=None,
        gt=0,
        description="how long a dispatcher owns a claimed delivery before another may "
        "take it over (default: 2 x timeout + 30 s)",
    )

    # Live subscriptions (GraphQL over WebSocket, see server/graphql_ws.py).
    live_subscriptions_per_connection: int = Field(default=100, ge=1)
    live_subscriptions_per_token: int = Field(default=1000, ge=1, description="per server process")
    live_queue_size: int = Field(
        default=1000,
        ge=1,
        description="events waiting to be sent per subscription; a subscriber with more "
        "is disconnected as a slow consumer",
    )
    live_poll_interval_seconds: float = Field(
        default=0.1,
        gt=0,
        description="read the event log at least this often (a commit in this process, a "
        "PostgreSQL NOTIFY or a change of SQLite's WAL file wakes it sooner)",
    )
    live_ping_interval_seconds: float = Field(default=15.0, gt=0)
    live_token_check_seconds: float = Field(
        default=5.0,
        gt=0,
        description="how often an open connection's token is checked again (revoked or "
        "expired: the connection is closed)",
    )
    live_connection_init_timeout_seconds: float = Field(default=10.0, gt=0)
    live_compression: bool = Field(
        default=False,
        description="accept permessage-deflate on WebSocket connections (browsers offer it): "
        "events are small, and compressing each one for each connection more than doubles "
        "what a subscription costs to send and to keep open",
    )

    # Tracing follows the standard OpenTelemetry variables (the SDK reads the rest
    # itself: headers, timeouts, sampler, resource); these decide whether it is on.
    otel_sdk_disabled: bool = Field(default=False, validation_alias="OTEL_SDK_DISABLED")
    otel_traces_exporter: str | None = Field(default=None, validation_alias="OTEL_TRACES_EXPORTER")
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    otel_exporter_otlp_traces_endpoint: str | None = Field(
        default=None, validation_alias="OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    )
    otel_exporter_otlp_protocol: str | None = Field(
        default=None, validation_alias="OTEL_EXPORTER_OTLP_PROTOCOL"
    )
    otel_exporter_otlp_traces_protocol: str | None = Field(
        default=None, validation_alias="OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
    )

    # `modelreg import mlflow` authenticates to MLflow as the MLflow client does, from
    # its own variables: a bearer token, or basic auth (username and password).
    mlflow_tracking_token: str | None = Field(
        default=None, repr=False, validation_alias="MLFLOW_TRACKING_TOKEN"
    )
    mlflow_tracking_username: str | None = Field(
        default=None, validation_alias="MLFLOW_TRACKING_USERNAME"
    )
    mlflow_tracking_password: str | None = Field(
        default=None, repr=False, validation_alias="MLFLOW_TRACKING_PASSWORD"
    )

    @field_validator("secret_key_previous", mode="before")
    @classmethod
    def _one_key_or_a_list(cls, value: object) -> object:
        # A passphrase may hold commas or spaces: a JSON list, or else one key.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return (text,) if text else ()
        return value

    @model_validator(mode="after")
    def _lease_outlasts_an_attempt(self) -> "Settings":
        # A lease that ends while its attempt still runs lets a second
        # dispatcher send the same delivery at the same time.
        lease = self.webhook_lease_seconds
        if lease is not None and lease <= self.webhook_timeout_seconds:
            raise ValueError("MODELREG_WEBHOOK_LEASE_SECONDS must exceed the attempt timeout")
        return self

    def delivery_config(self, secret_keys: tuple[str, ...] = ()) -> DeliveryConfig:
        """The dispatcher's settings, with the keys `server.secret_keys` found."""
        return DeliveryConfig(
            allow_private_networks=self.webhook_allow_private_networks,
            timeout_seconds=self.webhook_timeout_seconds,
            retry_schedule=self.webhook_retry_schedule,
            jitter=self.webhook_jitter,
            poll_interval_seconds=self.webhook_poll_interval_seconds,
            concurrency_per_endpoint=self.webhook_concurrency_per_endpoint,
            max_in_flight=self.webhook_max_in_flight,
            disable_after_seconds=self.webhook_disable_after_seconds,
            retention_seconds=self.webhook_retention_seconds,
            event_retention_seconds=self.event_retention_seconds,
            maintenance_interval_seconds=self.webhook_maintenance_interval_seconds,
            rotation_overlap_seconds=self.webhook_rotation_overlap_seconds,
            secret_keys=secret_keys,
            lease_override_seconds=self.webhook_lease_seconds,
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
