"""Rollback: restore the previous PRODUCTION version in one transaction."""

from storage.database import Database
from tests.graphql import GraphQLClient, register, transition
from tests.snapshot import snapshot

ROLLBACK = """mutation($input: RollbackInput!) { rollback(input: $input) {
  restored { version stage } demoted { version stage } } }"""
HISTORY = """query($name: String!) { model(name: $name) { productionVersion { version }
  stageHistory(first: 2) { edges { node { version fromStage toStage cause comment } } } } }"""


async def test_rollback_restores_the_previous_production_version(api: GraphQLClient) -> None:
    await register(api, "iris", 3)
    for version in (1, 2, 3):
        await transition(api, "iris", version, "PRODUCTION")
    data = await api.data(ROLLBACK, {"input": {"modelName": "iris", "comment": "bad p99"}})
    assert data["rollback"] == {
        "restored": {"version": 2, "stage": "PRODUCTION"},
        "demoted": {"version": 3, "stage": "ARCHIVED"},
    }
    model = (await api.data(HISTORY, {"name": "iris"}))["model"]
    assert model["productionVersion"] == {"version": 2}
    assert [e["node"] for e in model["stageHistory"]["edges"]] == [
        {
            "version": 2,
            "fromStage": "ARCHIVED",
            "toStage": "PRODUCTION",
            "cause": "ROLLBACK",
            "comment": "bad p99",
        },
        {
            "version": 3,
            "fromStage": "PRODUCTION",
            "toStage": "ARCHIVED",
            "cause": "ROLLBACK",
            "comment": "bad p99",
        },
    ]


async def test_rollback_to_an_explicit_version(api: GraphQLClient) -> None:
    await register(api, "iris", 3)
    await transition(api, "iris", 1, "STAGING")
    await transition(api, "iris", 3, "PRODUCTION")
    data = await api.data(ROLLBACK, {"input": {"modelName": "iris", "toVersion": 1}})
    assert data["rollback"]["restored"] == {"version": 1, "stage": "PRODUCTION"}
    assert data["rollback"]["demoted"] == {"version": 3, "stage": "ARCHIVED"}


async def test_rollback_skips_deleted_versions(api: GraphQLClient) -> None:
    await register(api, "iris", 3)
    for version in (1, 2, 3):
        await transition(api, "iris", version, "PRODUCTION")
    delete = 'mutation { deleteModelVersion(input: {modelName: "iris", version: 2}) { version } }'
    await api.data(delete)
    data = await api.data(ROLLBACK, {"input": {"modelName": "iris"}})
    assert data["rollback"]["restored"]["version"] == 1


async def test_refused_rollbacks_change_nothing(api: GraphQLClient, db: Database) -> None:
    await register(api, "iris", 2)
    before = await snapshot(db)
    error = await api.error(ROLLBACK, {"input": {"modelName": "iris"}})
    assert error["extensions"]["code"] == "INVALID_TRANSITION"
    assert "no version in PRODUCTION" in error["message"]

    await transition(api, "iris", 1, "PRODUCTION")
    before = await snapshot(db)
    error = await api.error(ROLLBACK, {"input": {"modelName": "iris"}})
    assert error["extensions"]["code"] == "INVALID_TRANSITION"
    assert "no earlier PRODUCTION version" in error["message"]
    assert await api.code(ROLLBACK, {"input": {"modelName": "iris", "toVersion": 1}}) == (
        "INVALID_TRANSITION"
    )
    assert await api.code(ROLLBACK, {"input": {"modelName": "iris", "toVersion": 9}}) == (
        "NOT_FOUND"
    )
    assert await api.code(ROLLBACK, {"input": {"modelName": "nope"}}) == "NOT_FOUND"
    assert await api.code(ROLLBACK, {"input": {"modelName": "iris", "toVersion": -1}}) == (
        "BAD_USER_INPUT"
    )
    assert await snapshot(db) == before
