"""GraphQL helpers for webhook tests, and reading what a receiver got."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson

from tests.graphql import GraphQLClient
from tests.receiver import Received

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], deadline: float = 15.0
) -> T:
    """Call `probe` until `done(result)`; fail the test after `deadline` seconds."""
    async with asyncio.timeout(deadline):
        while True:
            result = await probe()
            if done(result):
                return result
            await asyncio.sleep(0.02)


CREATE_WEBHOOK = """
mutation($input: CreateWebhookInput!) {
  createWebhook(input: $input) { secret webhook { id url events modelNames stages active } }
}
"""

DELIVERIES = """
query($id: ID!, $status: DeliveryStatus) {
  webhook(id: $id) {
    active disabledReason
    deliveries(first: 100, status: $status) {
      totalCount
      edges { node {
        id messageId eventType modelName sequence status attemptCount
        attempts { statusCode durationMs error responseBody }
      } }
    }
  }
}
"""


async def create_webhook(
    api: GraphQLClient, url: str, events: list[str] | None = None, **filters: Any
) -> tuple[str, str]:
    """Subscribe `url`; return (webhook id, secret)."""
    payload = {"url": url, "events": events or ["*"], **filters}
    data = await api.data(CREATE_WEBHOOK, {"input": payload})
    created = data["createWebhook"]
    return created["webhook"]["id"], created["secret"]


async def webhook_log(
    api: GraphQLClient, webhook_id: str, status: str | None = None
) -> dict[str, Any]:
    data = await api.data(DELIVERIES, {"id": webhook_id, "status": status})
    webhook: dict[str, Any] = data["webhook"]
    return webhook


def nodes(log: dict[str, Any]) -> list[dict[str, Any]]:
    """The deliveries of a `webhook_log` answer."""
    return [edge["node"] for edge in log["deliveries"]["edges"]]


def events(received: list[Received], path: str | None = None) -> list[dict[str, Any]]:
    """The parsed bodies received (at `path`), in arrival order."""
    return [orjson.loads(r.body) for r in received if path is None or r.path == path]


def types(received: list[Received], path: str | None = None) -> list[str]:
    return [e["type"] for e in events(received, path)]
