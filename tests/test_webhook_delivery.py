"""Delivery end to end: a real app, its dispatcher, real HTTP receivers on loopback."""

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from storage.database import Database
from tests.conftest import FAST_WEBHOOKS, TESTER, serving
from tests.graphql import GraphQLClient, register, transition
from tests.receiver import Receiver, Reply
from tests.webhook_client import create_webhook, events, eventually, nodes, types, webhook_log


@pytest.fixture
async def hooks_api(db: Database) -> AsyncIterator[GraphQLClient]:
    """The app with its dispatcher, allowed to deliver to loopback receivers."""
    async with serving(db, FAST_WEBHOOKS) as client:
        yield client


def _headers(received_headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in received_headers.items() if k.startswith("webhook-")}


async def test_deliveries_verify_with_the_standard_webhooks_library(
    hooks_api: GraphQLClient, receiver: Receiver
) -> None:
    _, secret = await create_webhook(hooks_api, receiver.url())
    await register(hooks_api, "fraud")
    (got,) = await receiver.wait_for(lambda r: len(r) == 2) and receiver.received[-1:]

    payload = Webhook(secret).verify(got.body, _headers(got.headers))
    assert payload["type"] == "model_version.created"
    assert payload["data"]["modelVersion"]["version"] == 1
    assert got.headers["webhook-id"].startswith("msg_")
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 60

    tampered = got.body.replace(b'"version":1', b'"version":2')
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered, _headers(got.headers))
    _, other_secret = await create_webhook(hooks_api, receiver.url("/other"), ["tag.set"])
    with pytest.raises(WebhookVerificationError):
        Webhook(other_secret).verify(got.body, _headers(got.headers))


async def test_a_six_minute_old_timestamp_is_rejected(
    hooks_api: GraphQLClient, receiver: Receiver
) -> None:
    from webhooks.signing import signature_header

    _, secret = await create_webhook(hooks_api, receiver.url())
    await register(hooks_api, "fraud")
    await receiver.wait_for(lambda r: len(r) == 2)
    got = receiver.received[0]
    old = int(time.time()) - 6 * 60
    replayed = {
        "webhook-id": got.headers["webhook-id"],
        "webhook-timestamp": str(old),
        "webhook-signature": signature_header([secret], got.headers["webhook-id"], old, got.body),
    }
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(got.body, replayed)


ROTATE = """
mutation($id: ID!) {
  rotateWebhookSecret(input: {id: $id}) { secret webhook { secretRotationEndsAt } }
}
"""


async def test_after_rotation_both_secrets_sign(
    hooks_api: GraphQLClient, receiver: Receiver
) -> None:
    webhook_id, old_secret = await create_webhook(hooks_api, receiver.url())
    rotated = (await hooks_api.data(ROTATE, {"id": webhook_id}))["rotateWebhookSecret"]
    new_secret = rotated["secret"]
    assert new_secret != old_secret
    assert new_secret.startswith("whsec_")
    assert rotated["webhook"]["secretRotationEndsAt"] is not None

    await register(hooks_api, "fraud")
    await receiver.wait_for(lambda r: len(r) == 2)
    got = receiver.received[-1]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    for secret in (old_secret, new_secret):
        Webhook(secret).verify(got.body, _headers(got.headers))


TEST_WEBHOOK = "mutation($id: ID!) { testWebhook(input: {id: $id}) { success statusCode } }"


async def test_test_webhook_after_rotation_signs_with_both_secrets(
    hooks_api: GraphQLClient, receiver: Receiver
) -> None:
    """`testWebhook` signs like a delivery: a receiver still on the old secret verifies it."""
    webhook_id, old_secret = await create_webhook(hooks_api, receiver.url(), ["tag.set"])
    rotated = (await hooks_api.data(ROTATE, {"id": webhook_id}))["rotateWebhookSecret"]
    tested = (await hooks_api.data(TEST_WEBHOOK, {"id": webhook_id}))["testWebhook"]
    assert tested == {"success": True, "statusCode": 200}

    (got,) = receiver.received
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    for secret in (old_secret, rotated["secret"]):
        assert Webhook(secret).verify(got.body, _headers(got.headers))["type"] == "webhook.test"


async def test_a_failing_endpoint_is_retried_until_it_answers(
    hooks_api: GraphQLClient, receiver: Receiver
) -> None:
    url = receiver.script("/flaky", Reply(500, b"boom"), Reply(500, b"boom"), Reply(200, b"fine"))
    webhook_id, _ = await create_webhook(hooks_api, url, ["model_version.created"])
    await register(hooks_api, "fraud")
    await receiver.wait_for(lambda r: len(r) == 3)

    log = await _settled(hooks_api, webhook_id)
    (delivery,) = [e["node"] for e in log["deliveries"]["edges"]]
    assert delivery["status"] == "SUCCEEDED"
    assert delivery["attemptCount"] == 3
    assert [a["statusCode"] for a in delivery["attempts"]] == [500, 500, 200]
    assert [a["responseBody"] for a in delivery["attempts"]] == ["boom", "boom", "fine"]
    assert delivery["attempts"][0]["error"] == "HTTP 500"
    # Every attempt carried the same webhook-id.
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert delivery["messageId"] == receiver.received[0].headers["webhook-id"]


async def _settled(api: GraphQLClient, webhook_id: str) -> dict[str, Any]:
    """The webhook's log once no delivery is PENDING any more."""
    await eventually(
        lambda: webhook_log(api, webhook_id),
        lambda log: bool(nodes(log)) and all(n["status"] != "PENDING" for n in nodes(log)),
    )
    # Read again: each statement of a request sees the latest commit, so the
    # webhook row of the first read may predate the commit its deliveries show.
    return await webhook_log(api, webhook_id)


async def test_gone_disables_the_endpoint(hooks_api: GraphQLClient, receiver: Receiver) -> None:
    url = receiver.script("/gone", Reply(410, b""))
    webhook_id, _ = await create_webhook(hooks_api, url, ["model_version.created"])
    await register(hooks_api, "fraud")
    log = await _settled(hooks_api, webhook_id)
    assert log["active"] is False
    assert "410" in str(log["disabledReason"])
    (delivery,) = [e["node"] for e in log["deliveries"]["edges"]]
    assert delivery["status"] == "FAILED"
    assert delivery["attemptCount"] == 1

    await register(hooks_api, "fraud")  # no longer subscribed: nothing more is sent
    assert len(receiver.at("/gone")) == 1


async def test_a_hanging_endpoint_times_out_and_does_not_delay_others(
    hooks_api: GraphQLClient, receiver: Receiver
) -> None:
    hanging = receiver.script("/hang", Reply(hang=True))
    hang_id, _ = await create_webhook(hooks_api, hanging, ["model_version.created"])
    await create_webhook(hooks_api, receiver.url("/healthy"), ["model_version.created"])
    for _ in range(5):
        await register(hooks_api, "fraud")
    # The healthy endpoint gets all five while the first attempt to /hang still hangs.
    await receiver.wait_for(lambda r: len([x for x in r if x.path == "/healthy"]) == 5)
    first_hang = receiver.at("/hang")[0].at
    assert receiver.at("/healthy")[-1].at - first_hang < FAST_WEBHOOKS.webhook_timeout_seconds

    log = await eventually(
        lambda: webhook_log(hooks_api, hang_id),
        lambda log: any(n["attempts"] for n in nodes(log)),
    )
    attempts = [a for n in nodes(log) for a in n["attempts"]]
    assert attempts[0]["statusCode"] is None
    assert attempts[0]["error"].startswith("timed out")
    assert attempts[0]["durationMs"] >= 900


async def test_deliveries_of_one_model_arrive_in_sequence_order(
    hooks_api: GraphQLClient, receiver: Receiver
) -> None:
    await create_webhook(hooks_api, receiver.url())
    await register(hooks_api, "fraud", 3)
    await transition(hooks_api, "fraud", 1, "PRODUCTION")
    await transition(hooks_api, "fraud", 2, "PRODUCTION")
    await receiver.wait_for(lambda r: len(r) == 7)

    received = events(receiver.received)
    assert [e["data"]["sequence"] for e in received] == list(range(1, 8))
    assert types(receiver.received) == [
        "model.created",
        "model_version.created",
        "model_version.created",
        "model_version.created",
        "model_version.stage_changed",
        "model_version.stage_changed",  # version 1, archived by the next promotion
        "model_version.stage_changed",
    ]
    archived, promoted = received[-2], received[-1]
    assert archived["data"]["modelVersion"]["version"] == 1
    assert (archived["data"]["fromStage"], archived["data"]["toStage"]) == (
        "PRODUCTION",
        "ARCHIVED",
    )
    assert archived["data"]["cause"] == "ARCHIVE_EXISTING"
    assert promoted["data"]["modelVersion"]["version"] == 2
    assert promoted["data"]["toStage"] == "PRODUCTION"
    assert promoted["data"]["actor"] == TESTER
    assert promoted["data"]["modelVersion"]["source"] == "s3://models/fraud"


async def test_after_the_last_attempt_a_delivery_fails_and_stays_redeliverable(
    hooks_api: GraphQLClient, receiver: Receiver
) -> None:
    url = receiver.script("/down", Reply(503, b"down"))
    webhook_id, _ = await create_webhook(hooks_api, url, ["model_version.created"])
    await register(hooks_api, "fraud")
    log = await _settled(hooks_api, webhook_id)
    (delivery,) = [e["node"] for e in log["deliveries"]["edges"]]
    # One attempt plus one per entry of the retry schedule.
    attempts = 1 + len(FAST_WEBHOOKS.webhook_retry_schedule)
    assert delivery["status"] == "FAILED"
    assert len(delivery["attempts"]) == attempts
    assert len(receiver.at("/down")) == attempts
    failed = await webhook_log(hooks_api, webhook_id, "FAILED")
    assert failed["deliveries"]["totalCount"] == 1
    assert log["active"] is True  # one failed delivery does not disable the endpoint

    receiver.script("/down", Reply(200))
    await hooks_api.data(
        "mutation($id: ID!) { redeliver(input: {deliveryId: $id}) { delivery { id } } }",
        {"id": delivery["id"]},
    )
    log = await _settled(hooks_api, webhook_id)
    assert log["deliveries"]["edges"][0]["node"]["status"] == "SUCCEEDED"


async def test_retry_after_is_honoured(hooks_api: GraphQLClient, receiver: Receiver) -> None:
    url = receiver.script("/busy", Reply(429, b"", (("retry-after", "1"),)), Reply(200))
    await create_webhook(hooks_api, url, ["model_version.created"])
    await register(hooks_api, "fraud")
    first, second = await receiver.wait_for(lambda r: len(r) == 2)
    # The schedule alone would have retried after 0.05 s.
    assert second.at - first.at >= 0.95


async def test_an_endpoint_failing_for_too_long_is_disabled(
    db: Database, receiver: Receiver
) -> None:
    settings = FAST_WEBHOOKS.model_copy(
        update={
            "webhook_retry_schedule": (0.05,) * 50,
            "webhook_disable_after_seconds": 0.3,
            "webhook_maintenance_interval_seconds": 0.05,
        }
    )
    async with serving(db, settings) as api:
        url = receiver.script("/dead", Reply(500))
        webhook_id, _ = await create_webhook(api, url, ["model_version.created"])
        await register(api, "fraud")
        log = await eventually(lambda: webhook_log(api, webhook_id), lambda w: not w["active"])
    assert "every delivery failed for more than 0.3 s" in log["disabledReason"]


async def test_old_log_rows_are_pruned(db: Database, receiver: Receiver) -> None:
    settings = FAST_WEBHOOKS.model_copy(
        update={"webhook_retention_seconds": 0.2, "webhook_maintenance_interval_seconds": 0.05}
    )
    async with serving(db, settings) as api:
        webhook_id, _ = await create_webhook(api, receiver.url(), ["model_version.created"])
        await register(api, "fraud")
        await receiver.wait_for(lambda r: len(r) == 1)
        await eventually(
            lambda: webhook_log(api, webhook_id),
            lambda w: w["deliveries"]["totalCount"] == 0,
        )


async def test_concurrency_per_endpoint_is_bounded(db: Database, receiver: Receiver) -> None:
    # A send that times out frees its slot while the receiver still holds the request,
    # which the receiver would count as a fourth at once: the timeout is far from 0.5 s.
    settings = FAST_WEBHOOKS.model_copy(
        update={"webhook_concurrency_per_endpoint": 3, "webhook_timeout_seconds": 10.0}
    )
    async with serving(db, settings) as api:
        # Each answer takes 0.5 s: the registrations below outpace three at a time
        # even on a loaded machine, so three are always waiting.
        url = receiver.script("/slow", Reply(200, delay=0.5))
        await create_webhook(api, url, ["model_version.created"])
        await create_webhook(api, receiver.url("/fast"), ["model_version.created"])
        # Twenty models: twenty deliveries that may go out in parallel.
        for i in range(20):
            await register(api, f"m{i}")
        await receiver.wait_for(lambda r: len(r) == 40, deadline=30)
    assert receiver.most_concurrent["/slow"] == 3


async def test_a_retried_delivery_holds_back_later_events_of_its_model(
    hooks_api: GraphQLClient, receiver: Receiver
) -> None:
    url = receiver.script("/ordered", Reply(500), Reply(200))
    await create_webhook(hooks_api, url, ["model_version.created"])
    await create_webhook(hooks_api, receiver.url("/other"), ["model_version.created"])
    await register(hooks_api, "fraud", 3)
    await receiver.wait_for(lambda r: len(r) == 7)
    versions = [e["data"]["modelVersion"]["version"] for e in events(receiver.received, "/ordered")]
    assert versions == [1, 1, 2, 3]  # version 2 waited for version 1's retry
    other = [e["data"]["modelVersion"]["version"] for e in events(receiver.received, "/other")]
    assert other == [1, 2, 3]


async def test_an_attempt_cut_short_by_a_dead_dispatcher_is_in_the_log(
    db: Database, receiver: Receiver
) -> None:
    """A dispatcher that dies after claiming (perhaps after sending) leaves its mark.

    The next claim after the lease ran out logs the interrupted attempt, so the
    log says the endpoint may have received the delivery before it gets it again.
    """
    from datetime import timedelta

    from storage.clock import utcnow
    from storage.queries import deliveries

    async with serving(db, FAST_WEBHOOKS.model_copy(update={"webhook_dispatcher": False})) as api:
        webhook_id, _ = await create_webhook(api, receiver.url(), ["model_version.created"])
        await register(api, "fraud")
        now = utcnow()
        lease = now + timedelta(seconds=30)
        async with db.transaction() as conn:  # the dispatcher that dies
            [dead] = await deliveries.claim(
                conn, now=now, lease_until=lease, limit=10, room={}, per_webhook=8
            )
        assert dead.interrupted_lease is None
        async with db.transaction() as conn:  # nobody else may take it while the lease runs
            assert (
                await deliveries.claim(
                    conn, now=now, lease_until=lease, limit=10, room={}, per_webhook=8
                )
                == []
            )
        later = lease + timedelta(seconds=1)
        async with db.transaction() as conn:
            [taken] = await deliveries.claim(
                conn, now=later, lease_until=later + timedelta(seconds=30), limit=10, room={},
                per_webhook=8,
            )  # fmt: skip
        assert (taken.id, taken.message_id) == (dead.id, dead.message_id)
        assert taken.interrupted_lease == lease
        [delivery] = nodes(await webhook_log(api, webhook_id))
    assert delivery["attemptCount"] == 1
    [attempt] = delivery["attempts"]
    assert attempt["statusCode"] is None
    assert "the endpoint may have received it" in attempt["error"]
