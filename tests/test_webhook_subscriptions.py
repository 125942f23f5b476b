"""Subscriptions over GraphQL: filters, validation, the SSRF guard, test, redeliver, secrets."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from storage.database import Database
from storage.tables import webhook_deliveries, webhooks
from tests.conftest import FAST_WEBHOOKS, serving
from tests.graphql import GraphQLClient, register, transition
from tests.receiver import Receiver, Reply
from tests.snapshot import snapshot
from tests.webhook_client import (
    CREATE_WEBHOOK,
    create_webhook,
    events,
    eventually,
    nodes,
    types,
    webhook_log,
)


@pytest.fixture
async def hooks_api(db: Database) -> AsyncIterator[GraphQLClient]:
    async with serving(db, FAST_WEBHOOKS) as client:
        yield client


SET_TAG = """
mutation($model: String!, $key: String!) {
  setTag(input: {modelName: $model, key: $key, value: "v"}) { tag { key } }
}
"""


async def test_filters_select_exactly_what_they_say(
    hooks_api: GraphQLClient, receiver: Receiver
) -> None:
    await create_webhook(hooks_api, receiver.url("/all"))
    await create_webhook(hooks_api, receiver.url("/versions"), ["model_version.*"])
    await create_webhook(hooks_api, receiver.url("/tags"), ["tag.set", "tag.deleted"])
    await create_webhook(hooks_api, receiver.url("/fraud"), ["*"], modelNames=["fraud"])
    await create_webhook(
        hooks_api, receiver.url("/prod"), ["model_version.stage_changed"], stages=["PRODUCTION"]
    )
    await register(hooks_api, "fraud", 2)
    await register(hooks_api, "churn")
    await transition(hooks_api, "fraud", 1, "STAGING")
    await transition(hooks_api, "fraud", 1, "PRODUCTION")
    await transition(hooks_api, "churn", 1, "PRODUCTION")
    await hooks_api.data(SET_TAG, {"model": "churn", "key": "team"})
    # Everything goes to /all: 2 model.created, 3 versions, 3 stage changes, 1 tag.
    # Each endpoint is delivered to on its own: wait for every one of them.
    expected = {"/all": 9, "/versions": 6, "/tags": 1, "/fraud": 5, "/prod": 2}
    for path, count in expected.items():
        # Late binding is harmless: each lambda is awaited within its own iteration.
        await receiver.wait_for(lambda received: len(receiver.at(path)) == count)  # noqa: B023

    assert types(receiver.received, "/versions") == [
        "model_version.created",
        "model_version.created",
        "model_version.created",
        "model_version.stage_changed",
        "model_version.stage_changed",
        "model_version.stage_changed",
    ]
    assert types(receiver.received, "/tags") == ["tag.set"]
    assert {e["data"]["model"]["name"] for e in events(receiver.received, "/fraud")} == {"fraud"}
    assert len(events(receiver.received, "/fraud")) == 5
    prod = events(receiver.received, "/prod")
    assert [(e["data"]["model"]["name"], e["data"]["toStage"]) for e in prod] == [
        ("fraud", "PRODUCTION"),
        ("churn", "PRODUCTION"),
    ]


async def test_a_new_subscription_takes_effect_for_the_next_event(
    hooks_api: GraphQLClient, receiver: Receiver
) -> None:
    await register(hooks_api, "fraud")
    webhook_id, _ = await create_webhook(hooks_api, receiver.url(), ["model_version.created"])
    await register(hooks_api, "fraud")
    await receiver.wait_for(lambda r: len(r) == 1)
    assert events(receiver.received)[0]["data"]["modelVersion"]["version"] == 2

    changed = await hooks_api.data(
        'mutation($id: ID!) { updateWebhook(input: {id: $id, events: ["tag.set"]}) '
        "{ webhook { events } } }",
        {"id": webhook_id},
    )
    assert changed["updateWebhook"]["webhook"]["events"] == ["tag.set"]
    await register(hooks_api, "fraud")
    await hooks_api.data(SET_TAG, {"model": "fraud", "key": "k"})
    await receiver.wait_for(lambda r: len(r) == 2)
    assert types(receiver.received) == ["model_version.created", "tag.set"]


async def test_a_refused_mutation_records_no_event(
    hooks_api: GraphQLClient, db: Database, receiver: Receiver
) -> None:
    webhook_id, _ = await create_webhook(hooks_api, receiver.url())
    await register(hooks_api, "fraud")
    # Both deliveries recorded as sent, so the dispatcher writes nothing more.
    await eventually(
        lambda: webhook_log(hooks_api, webhook_id, "SUCCEEDED"),
        lambda w: w["deliveries"]["totalCount"] == 2,
    )
    before = await snapshot(db)
    code = await hooks_api.code(
        'mutation { transitionStage(input: {modelName: "fraud", version: 1, stage: NONE})'
        " { modelVersion { version } } }"
    )
    assert code == "INVALID_TRANSITION"
    assert await snapshot(db) == before


BAD_URLS = [
    ("ftp://example.com/hook", "scheme"),
    ("http://127.0.0.1/hook", "loopback"),
    ("http://10.0.0.1/hook", "private"),
    ("http://169.254.169.254/latest/meta-data", "metadata"),
    ("http://100.64.0.1/hook", "CGNAT"),
    ("http://[::1]/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]/hook", "IPv4-mapped"),
    ("http://[64:ff9b::a9fe:a9fe]/hook", "NAT64"),
    ("http://localhost:8080/hook", "loopback"),
    ("http://user:pass@93.184.216.34/hook", "credentials"),
]


@pytest.mark.parametrize(("url", "reason"), BAD_URLS)
async def test_unsafe_urls_are_refused_at_creation(
    api: GraphQLClient, db: Database, url: str, reason: str
) -> None:
    before = await snapshot(db)
    error = await api.error(CREATE_WEBHOOK, {"input": {"url": url, "events": ["*"]}})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "url"
    assert reason in error["message"]
    assert await snapshot(db) == before


async def test_a_public_address_is_accepted(api: GraphQLClient) -> None:
    webhook_id, secret = await create_webhook(api, "https://93.184.216.34/hook")
    assert webhook_id
    assert secret.startswith("whsec_")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"url": "http://93.184.216.34/", "events": []}, "events"),
        ({"url": "http://93.184.216.34/", "events": ["model.exploded"]}, "events"),
        ({"url": "http://93.184.216.34/", "events": ["*"], "modelNames": ["bad/name"]}, None),
        ({"url": "", "events": ["*"]}, "url"),
    ],
)
async def test_bad_subscriptions_are_refused(
    api: GraphQLClient, db: Database, payload: dict[str, Any], field: str | None
) -> None:
    before = await snapshot(db)
    error = await api.error(CREATE_WEBHOOK, {"input": payload})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    if field:
        assert error["extensions"]["field"] == field
    assert await snapshot(db) == before


async def test_the_guard_also_runs_at_send_time(db: Database, receiver: Receiver) -> None:
    # Subscribed while private targets were allowed; the dispatcher no longer allows them.
    async with serving(db, FAST_WEBHOOKS) as permissive:
        webhook_id, _ = await create_webhook(permissive, receiver.url(), ["model_version.created"])
    strict = FAST_WEBHOOKS.model_copy(update={"webhook_allow_private_networks": False})
    async with serving(db, strict) as api:
        await register(api, "fraud")
        log = await eventually(
            lambda: webhook_log(api, webhook_id),
            lambda log: bool(nodes(log)) and bool(nodes(log)[0]["attempts"]),
        )
    assert "blocked: loopback address 127.0.0.1" in nodes(log)[0]["attempts"][0]["error"]
    assert receiver.received == []


TEST_WEBHOOK = """
mutation($id: ID!) { testWebhook(input: {id: $id}) { success statusCode durationMs error } }
"""


async def test_test_webhook_reports_status_but_never_the_body(
    hooks_api: GraphQLClient, receiver: Receiver
) -> None:
    url = receiver.script("/secret-service", Reply(500, b"internal credentials: hunter2"))
    webhook_id, secret = await create_webhook(hooks_api, url)
    result = (await hooks_api.data(TEST_WEBHOOK, {"id": webhook_id}))["testWebhook"]
    assert result["success"] is False
    assert result["statusCode"] == 500
    assert result["error"] == "HTTP 500"
    assert result["durationMs"] > 0
    assert "hunter2" not in str(result)
    (got,) = receiver.received
    assert events(receiver.received)[0]["type"] == "webhook.test"
    from standardwebhooks import Webhook

    Webhook(secret).verify(got.body, {k: v for k, v in got.headers.items() if "webhook" in k})


async def test_redeliver_sends_again_with_the_same_webhook_id(
    hooks_api: GraphQLClient, receiver: Receiver
) -> None:
    webhook_id, _ = await create_webhook(hooks_api, receiver.url(), ["model_version.created"])
    await register(hooks_api, "fraud")
    await receiver.wait_for(lambda r: len(r) == 1)
    log = await eventually(
        lambda: webhook_log(hooks_api, webhook_id),
        lambda log: nodes(log)[0]["status"] == "SUCCEEDED",
    )
    (delivery,) = nodes(log)
    again = await hooks_api.data(
        "mutation($id: ID!) { redeliver(input: {deliveryId: $id}) { delivery { status } } }",
        {"id": delivery["id"]},
    )
    assert again["redeliver"]["delivery"]["status"] == "PENDING"
    await receiver.wait_for(lambda r: len(r) == 2)
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery["messageId"]
    assert first.body == second.body

    missing = await hooks_api.code(
        'mutation { redeliver(input: {deliveryId: "999999"}) { delivery { id } } }'
    )
    assert missing == "NOT_FOUND"


async def test_disable_holds_deliveries_and_enable_sends_them(
    hooks_api: GraphQLClient, db: Database, receiver: Receiver
) -> None:
    webhook_id, _ = await create_webhook(hooks_api, receiver.url(), ["model_version.created"])
    disabled = await hooks_api.data(
        'mutation($id: ID!) { disableWebhook(input: {id: $id, reason: "maintenance"}) '
        "{ webhook { active disabledReason } } }",
        {"id": webhook_id},
    )
    assert disabled["disableWebhook"]["webhook"] == {
        "active": False,
        "disabledReason": f"maintenance ({hooks_api.actor})",
    }
    await register(hooks_api, "fraud")
    async with db.read() as conn:
        pending = (await conn.execute(select(webhook_deliveries.c.status))).scalars().all()
    assert pending == []  # a disabled endpoint gets no new deliveries
    enabled = await hooks_api.data(
        "mutation($id: ID!) { enableWebhook(input: {id: $id}) { webhook { active } } }",
        {"id": webhook_id},
    )
    assert enabled["enableWebhook"]["webhook"]["active"] is True
    await register(hooks_api, "fraud")
    await receiver.wait_for(lambda r: len(r) == 1)
    assert events(receiver.received)[0]["data"]["modelVersion"]["version"] == 2


async def test_secrets_are_encrypted_at_rest_with_a_secret_key(
    db: Database, receiver: Receiver
) -> None:
    settings = FAST_WEBHOOKS.model_copy(update={"secret_key": "correct horse battery staple"})
    async with serving(db, settings) as api:
        _, secret = await create_webhook(api, receiver.url())
        await register(api, "fraud")
        await receiver.wait_for(lambda r: len(r) == 2)
    async with db.read() as conn:
        stored = (await conn.execute(select(webhooks.c.secret))).scalar_one()
    assert stored.startswith("fernet2:")
    assert secret.removeprefix("whsec_") not in stored
    from standardwebhooks import Webhook

    got = receiver.received[0]
    Webhook(secret).verify(got.body, {k: v for k, v in got.headers.items() if "webhook" in k})


async def test_the_secret_is_never_readable_after_creation(api: GraphQLClient) -> None:
    webhook_id, _ = await create_webhook(api, "https://93.184.216.34/hook")
    query = "query($id: ID!) { webhook(id: $id) { secret } }"
    error = await api.error(query, {"id": webhook_id}, status=400)
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_delete_webhook_removes_it_and_its_log(api: GraphQLClient, db: Database) -> None:
    webhook_id, _ = await create_webhook(api, "https://93.184.216.34/hook")
    await register(api, "fraud")
    deleted = await api.data(
        "mutation($id: ID!) { deleteWebhook(input: {id: $id}) { id } }", {"id": webhook_id}
    )
    assert deleted["deleteWebhook"]["id"] == webhook_id
    assert await api.code("query($id: ID!) { webhook(id: $id) { id } }", {"id": webhook_id}) == (
        "NOT_FOUND"
    )
    async with db.read() as conn:
        assert (await conn.execute(select(webhook_deliveries.c.id))).all() == []


async def test_secrets_never_reach_the_logs(
    hooks_api: GraphQLClient, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    url = receiver.script("/flaky", Reply(500), Reply(200))
    webhook_id, secret = await create_webhook(hooks_api, url)
    rotated = await hooks_api.data(ROTATE, {"id": webhook_id})
    await hooks_api.data(TEST_WEBHOOK, {"id": webhook_id})
    await register(hooks_api, "fraud")
    await receiver.wait_for(lambda r: len(r) >= 3)
    logged = caplog.text
    for value in (secret, rotated["rotateWebhookSecret"]["secret"]):
        assert value not in logged
        assert value.removeprefix("whsec_") not in logged


ROTATE = """
mutation($id: ID!) { rotateWebhookSecret(input: {id: $id}) { secret } }
"""


async def test_the_old_secret_stops_signing_when_the_overlap_ends(
    db: Database, receiver: Receiver
) -> None:
    settings = FAST_WEBHOOKS.model_copy(update={"webhook_rotation_overlap_seconds": 0})
    async with serving(db, settings) as api:
        webhook_id, old_secret = await create_webhook(api, receiver.url())
        rotated = await api.data(ROTATE, {"id": webhook_id})
        await register(api, "fraud")
        await receiver.wait_for(lambda r: len(r) == 2)
    got = receiver.received[0]
    assert len(got.headers["webhook-signature"].split(" ")) == 1
    headers = {k: v for k, v in got.headers.items() if "webhook" in k}
    from standardwebhooks import Webhook, WebhookVerificationError

    Webhook(rotated["rotateWebhookSecret"]["secret"]).verify(got.body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old_secret).verify(got.body, headers)


PAGE = """
query($id: ID!, $after: String) {
  webhooks(first: 2) { totalCount edges { node { id } } }
  webhook(id: $id) {
    deliveries(first: 2, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { sequence } }
    }
  }
}
"""


async def test_webhooks_and_their_deliveries_page_newest_first(
    api: GraphQLClient,
) -> None:
    webhook_id, _ = await create_webhook(api, "https://93.184.216.34/hook")
    await create_webhook(api, "https://93.184.216.34/other")
    await create_webhook(api, "https://93.184.216.34/third")
    await register(api, "fraud", 2)  # model.created + 2 versions: 3 deliveries each
    first = await api.data(PAGE, {"id": webhook_id})
    assert first["webhooks"]["totalCount"] == 3
    assert [e["node"]["id"] for e in first["webhooks"]["edges"]] == [
        webhook_id,
        str(int(webhook_id) + 1),
    ]
    page = first["webhook"]["deliveries"]
    assert page["totalCount"] == 3
    assert [e["node"]["sequence"] for e in page["edges"]] == [3, 2]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await api.data(PAGE, {"id": webhook_id, "after": page["pageInfo"]["endCursor"]})
    page = rest["webhook"]["deliveries"]
    assert [e["node"]["sequence"] for e in page["edges"]] == [1]
    assert page["pageInfo"]["hasNextPage"] is False
