"""Every mutation of the core announces itself, with the data a consumer needs."""

from collections.abc import AsyncIterator

import pytest

from storage.database import Database
from tests.conftest import FAST_WEBHOOKS, serving
from tests.graphql import GraphQLClient, register, transition
from tests.receiver import Receiver
from tests.webhook_client import create_webhook, events

MUTATIONS = [
    'updateModel(input: {name: "fraud", description: "scores payments"}) { model { name } }',
    'updateModelVersion(input: {modelName: "fraud", version: 2, description: "retrained"})'
    " { modelVersion { version } }",
    'setTag(input: {modelName: "fraud", version: 1, key: "team", value: "risk"}) { tag { key } }',
    'deleteTag(input: {modelName: "fraud", version: 1, key: "team"}) { key }',
    'setAlias(input: {modelName: "fraud", alias: "champion", version: 1}) { previousVersion }',
    'deleteAlias(input: {modelName: "fraud", alias: "champion"}) { alias }',
    'rollback(input: {modelName: "fraud", comment: "bad auc"}) { restored { version } }',
    'deleteModelVersion(input: {modelName: "fraud", version: 3}) { version }',
    'deleteModel(input: {name: "fraud"}) { name }',
]


@pytest.fixture
async def hooks_api(db: Database) -> AsyncIterator[GraphQLClient]:
    async with serving(db, FAST_WEBHOOKS) as client:
        yield client


async def test_every_change_is_announced_in_order(
    hooks_api: GraphQLClient, receiver: Receiver
) -> None:
    await create_webhook(hooks_api, receiver.url())
    await register(hooks_api, "fraud", 3)
    await transition(hooks_api, "fraud", 1, "PRODUCTION")
    await transition(hooks_api, "fraud", 2, "PRODUCTION", comment="better")
    for mutation in MUTATIONS:
        await hooks_api.data("mutation { " + mutation + " }")
    await register(hooks_api, "fraud")  # registered again after deletion

    expected = [
        "model.created",
        "model_version.created",
        "model_version.created",
        "model_version.created",
        "model_version.stage_changed",  # 1 -> PRODUCTION
        "model_version.stage_changed",  # 1 -> ARCHIVED (displaced)
        "model_version.stage_changed",  # 2 -> PRODUCTION
        "model.updated",
        "model_version.updated",
        "tag.set",
        "tag.deleted",
        "alias.set",
        "alias.deleted",
        "model_version.stage_changed",  # rollback: 2 -> ARCHIVED
        "model_version.stage_changed",  # rollback: 1 -> PRODUCTION
        "model.rolled_back",
        "model_version.deleted",
        "model.deleted",
        "model.created",
        "model_version.created",
    ]
    await receiver.wait_for(lambda r: len(r) == len(expected))
    got = events(receiver.received)
    assert [e["type"] for e in got] == expected
    # The sequence keeps counting across deletion and re-creation of the model.
    assert [e["data"]["sequence"] for e in got] == list(range(1, len(expected) + 1))

    displaced, promoted = got[5]["data"], got[6]["data"]
    assert (displaced["modelVersion"]["version"], displaced["toStage"]) == (1, "ARCHIVED")
    assert displaced["cause"] == "ARCHIVE_EXISTING"
    assert promoted["comment"] == "better"
    assert promoted["modelVersion"]["uri"] == "models:/fraud/2"
    assert got[7]["data"]["model"]["description"] == "scores payments"
    assert got[9]["data"]["modelVersion"]["version"] == 1
    assert (got[9]["data"]["key"], got[9]["data"]["value"]) == ("team", "risk")
    assert got[11]["data"]["alias"] == "champion"
    rolled = got[15]["data"]
    assert (rolled["restored"]["version"], rolled["demoted"]["version"]) == (1, 2)
    assert rolled["restored"]["stage"] == "PRODUCTION"
    assert got[13]["data"]["cause"] == got[14]["data"]["cause"] == "ROLLBACK"
    assert got[16]["data"]["modelVersion"]["version"] == 3
    assert got[18]["data"]["model"]["name"] == "fraud"
    for event in got:
        assert event["timestamp"].endswith("Z")
