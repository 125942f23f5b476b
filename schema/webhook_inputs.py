"""Inputs and payloads of the webhook mutations."""

import strawberry

from schema.enums import Stage
from schema.webhook_types import Webhook, WebhookDelivery


@strawberry.input
class CreateWebhookInput:
    url: str
    events: list[str] = strawberry.field(
        description="`*`, exact types such as `model_version.stage_changed`, or `model.*`."
    )
    model_names: list[str] = strawberry.field(default_factory=list)
    stages: list[Stage] = strawberry.field(
        default_factory=list, description="Only stage changes into these stages."
    )
    description: str | None = None


@strawberry.input(description="Fields left out stay as they are.")
class UpdateWebhookInput:
    id: strawberry.ID
    url: str | None = None
    events: list[str] | None = None
    model_names: list[str] | None = None
    stages: list[Stage] | None = None
    description: str | None = None


@strawberry.input
class WebhookIdInput:
    id: strawberry.ID


@strawberry.input
class DisableWebhookInput:
    id: strawberry.ID
    reason: str | None = None


@strawberry.input
class RedeliverInput:
    delivery_id: strawberry.ID


@strawberry.type
class WebhookWithSecretPayload:
    webhook: Webhook
    secret: str = strawberry.field(
        description="whsec_...: shown only now; verify signatures with it."
    )


@strawberry.type
class WebhookPayload:
    webhook: Webhook


@strawberry.type
class DeleteWebhookPayload:
    id: strawberry.ID


@strawberry.type(description="What the endpoint did with a `webhook.test` event.")
class TestWebhookPayload:
    success: bool
    status_code: int | None
    duration_ms: float  # as on WebhookDeliveryAttempt
    error: str | None


@strawberry.type
class RedeliverPayload:
    delivery: WebhookDelivery
