"""The webhook fields of Query and Mutation (merged into the root types)."""

import strawberry

from resolvers import webhooks as use_cases
from resolvers.webhooks import WebhookChanges, parse_id
from schema import webhook_inputs as inputs
from schema.connections import Connection, connection
from schema.types import Ctx
from schema.webhook_types import Webhook, WebhookDelivery


def _changes(input: inputs.CreateWebhookInput | inputs.UpdateWebhookInput) -> WebhookChanges:
    return WebhookChanges(
        url=input.url,
        events=input.events,
        model_names=input.model_names,
        stages=input.stages,
        description=input.description,
    )


@strawberry.type
class WebhookQuery:
    @strawberry.field(description="Webhook subscriptions, oldest first.")
    async def webhooks(
        self, info: Ctx, first: int | None = 20, after: str | None = None
    ) -> Connection[Webhook]:
        page = await use_cases.list_webhooks(info.context, first, after)
        return connection(page, Webhook.of, after=after)

    @strawberry.field(description="One subscription, with its delivery log.")
    async def webhook(self, info: Ctx, id: strawberry.ID) -> Webhook:
        return Webhook.of(await use_cases.get_webhook(info.context, parse_id(id)))


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(description="Subscribe a URL; the secret is in the payload only.")
    async def create_webhook(
        self, info: Ctx, input: inputs.CreateWebhookInput
    ) -> inputs.WebhookWithSecretPayload:
        created = await use_cases.create_webhook(
            info.context,
            _changes(input),
        )
        return inputs.WebhookWithSecretPayload(
            webhook=Webhook.of(created.webhook), secret=created.secret
        )

    @strawberry.mutation(description="Takes effect for the very next event.")
    async def update_webhook(
        self, info: Ctx, input: inputs.UpdateWebhookInput
    ) -> inputs.WebhookPayload:
        record = await use_cases.update_webhook(
            info.context,
            parse_id(input.id),
            _changes(input),
        )
        return inputs.WebhookPayload(webhook=Webhook.of(record))

    @strawberry.mutation(description="Delete a subscription with its delivery log.")
    async def delete_webhook(
        self, info: Ctx, input: inputs.WebhookIdInput
    ) -> inputs.DeleteWebhookPayload:
        record = await use_cases.delete_webhook(info.context, parse_id(input.id))
        return inputs.DeleteWebhookPayload(id=strawberry.ID(str(record.id)))

    @strawberry.mutation(description="Resume deliveries, including those held meanwhile.")
    async def enable_webhook(
        self, info: Ctx, input: inputs.WebhookIdInput
    ) -> inputs.WebhookPayload:
        record = await use_cases.set_active(info.context, parse_id(input.id), active=True)
        return inputs.WebhookPayload(webhook=Webhook.of(record))

    @strawberry.mutation(description="Stop sending: pending deliveries wait, new events skip it.")
    async def disable_webhook(
        self, info: Ctx, input: inputs.DisableWebhookInput
    ) -> inputs.WebhookPayload:
        record = await use_cases.set_active(
            info.context, parse_id(input.id), active=False, reason=input.reason
        )
        return inputs.WebhookPayload(webhook=Webhook.of(record))

    @strawberry.mutation(description="A new secret; the old one keeps signing beside it 24 h.")
    async def rotate_webhook_secret(
        self, info: Ctx, input: inputs.WebhookIdInput
    ) -> inputs.WebhookWithSecretPayload:
        rotated = await use_cases.rotate_secret(info.context, parse_id(input.id))
        return inputs.WebhookWithSecretPayload(
            webhook=Webhook.of(rotated.webhook), secret=rotated.secret
        )

    @strawberry.mutation(
        description="Send a webhook.test event now; never returns the response body."
    )
    async def test_webhook(
        self, info: Ctx, input: inputs.WebhookIdInput
    ) -> inputs.TestWebhookPayload:
        outcome = await use_cases.test_webhook(info.context, parse_id(input.id))
        return inputs.TestWebhookPayload(
            success=outcome.succeeded,
            status_code=outcome.status_code,
            duration_ms=round(outcome.duration_ms, 3),
            error=outcome.error,
        )

    @strawberry.mutation(description="Send a delivery again, with the same webhook-id.")
    async def redeliver(self, info: Ctx, input: inputs.RedeliverInput) -> inputs.RedeliverPayload:
        record = await use_cases.redeliver(info.context, parse_id(input.delivery_id, "deliveryId"))
        return inputs.RedeliverPayload(delivery=WebhookDelivery.of(record))
