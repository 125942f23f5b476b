"""Stage transitions: one PRODUCTION version, archiving, history and refusals."""

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from storage.database import Database
from storage.tables import model_versions
from tests.graphql import TRANSITION, GraphQLClient, register, transition
from tests.snapshot import snapshot

STAGES = """query($name: String!) { model(name: $name) {
  productionVersion { version }
  stagingVersions { version }
  versions(first: 100) { edges { node { version stage } } }
  stageHistory(first: 100) { totalCount edges { node {
    version fromStage toStage cause actor comment createdAt modelVersion { version } } } }
} }"""


async def stages_of(api: GraphQLClient, name: str) -> dict[int, str]:
    data = await api.data(STAGES, {"name": name})
    edges = data["model"]["versions"]["edges"]
    return {e["node"]["version"]: e["node"]["stage"] for e in edges}


async def test_promotion_archives_the_previous_production_version(api: GraphQLClient) -> None:
    await register(api, "iris", 3)
    first = await transition(api, "iris", 1, "PRODUCTION", comment="go")
    assert first == {"modelVersion": {"version": 1, "stage": "PRODUCTION"}, "archived": []}
    second = await transition(api, "iris", 2, "PRODUCTION")
    assert second["archived"] == [{"version": 1, "stage": "ARCHIVED"}]
    assert await stages_of(api, "iris") == {3: "NONE", 2: "PRODUCTION", 1: "ARCHIVED"}

    data = await api.data(STAGES, {"name": "iris"})
    assert data["model"]["productionVersion"] == {"version": 2}
    history = [e["node"] for e in data["model"]["stageHistory"]["edges"]]
    assert [(h["version"], h["fromStage"], h["toStage"], h["cause"]) for h in history] == [
        (2, "NONE", "PRODUCTION", "TRANSITION"),
        (1, "PRODUCTION", "ARCHIVED", "ARCHIVE_EXISTING"),
        (1, "NONE", "PRODUCTION", "TRANSITION"),
    ]
    assert history[2]["comment"] == "go"
    assert {h["actor"] for h in history} == {api.actor}
    assert data["model"]["stageHistory"]["totalCount"] == 3


async def test_archived_versions_can_be_promoted_again(api: GraphQLClient) -> None:
    await register(api, "iris", 2)
    await transition(api, "iris", 1, "PRODUCTION")
    await transition(api, "iris", 2, "PRODUCTION")
    result = await transition(api, "iris", 1, "PRODUCTION")
    assert result["archived"] == [{"version": 2, "stage": "ARCHIVED"}]
    assert await stages_of(api, "iris") == {2: "ARCHIVED", 1: "PRODUCTION"}


async def test_staging_holds_several_unless_archive_existing(api: GraphQLClient) -> None:
    await register(api, "iris", 3)
    await transition(api, "iris", 1, "STAGING")
    await transition(api, "iris", 2, "STAGING")
    data = await api.data(STAGES, {"name": "iris"})
    assert data["model"]["stagingVersions"] == [{"version": 2}, {"version": 1}]
    result = await transition(api, "iris", 3, "STAGING", archiveExisting=True)
    assert result["archived"] == [
        {"version": 1, "stage": "ARCHIVED"},
        {"version": 2, "stage": "ARCHIVED"},
    ]
    assert await stages_of(api, "iris") == {3: "STAGING", 2: "ARCHIVED", 1: "ARCHIVED"}


async def test_refused_transitions_change_nothing(api: GraphQLClient, db: Database) -> None:
    await register(api, "iris", 2)
    await transition(api, "iris", 1, "PRODUCTION")
    before = await snapshot(db)

    def payload(**fields: object) -> dict[str, object]:
        return {"input": {"modelName": "iris", "version": 1, "stage": "STAGING", **fields}}

    error = await api.error(TRANSITION, payload(stage="PRODUCTION"))
    assert error["extensions"]["code"] == "INVALID_TRANSITION"
    assert "already in PRODUCTION" in error["message"]
    assert await api.code(TRANSITION, payload(version=7)) == "NOT_FOUND"
    assert await api.code(TRANSITION, payload(modelName="nope")) == "NOT_FOUND"
    assert await api.code(TRANSITION, payload(stage="NONE", archiveExisting=True)) == (
        "BAD_USER_INPUT"
    )
    assert await api.code(TRANSITION, payload(comment="c" * 5001)) == "BAD_USER_INPUT"
    # An unknown stage, as a variable and as a literal in the document.
    assert await api.code(TRANSITION, payload(stage="PROD"), status=400) == "BAD_USER_INPUT"
    literal = """mutation { transitionStage(input: {modelName: "iris", version: 1,
      stage: Production}) { archived { version } } }"""
    assert await api.code(literal, status=400) == "GRAPHQL_VALIDATION_FAILED"
    assert await snapshot(db) == before


async def test_the_database_refuses_a_second_production_version(
    api: GraphQLClient, db: Database
) -> None:
    await register(api, "iris", 2)
    await transition(api, "iris", 1, "PRODUCTION")
    statement = (
        update(model_versions).where(model_versions.c.version == 2).values(stage="PRODUCTION")
    )
    with pytest.raises(IntegrityError):
        async with db.transaction() as conn:
            await conn.execute(statement)
    assert await stages_of(api, "iris") == {2: "NONE", 1: "PRODUCTION"}


async def test_version_history_and_deleted_versions(api: GraphQLClient) -> None:
    await register(api, "iris", 2)
    await transition(api, "iris", 1, "STAGING")
    await transition(api, "iris", 1, "PRODUCTION")
    await transition(api, "iris", 2, "PRODUCTION")
    query = """{ modelVersion(name: "iris", version: 1) {
      stageHistory(first: 2) { totalCount pageInfo { hasNextPage endCursor }
        edges { node { toStage } } } } }"""
    history = (await api.data(query))["modelVersion"]["stageHistory"]
    assert history["totalCount"] == 3
    assert [e["node"]["toStage"] for e in history["edges"]] == ["ARCHIVED", "PRODUCTION"]
    assert history["pageInfo"]["hasNextPage"] is True
    delete = """mutation { deleteModelVersion(input: {modelName: "iris", version: 1}) {
      version } }"""
    await api.data(delete)
    data = await api.data(STAGES, {"name": "iris"})
    nodes = [e["node"] for e in data["model"]["stageHistory"]["edges"]]
    assert [n["modelVersion"] for n in nodes] == [{"version": 2}, None, None, None]


async def test_a_request_sees_its_own_earlier_mutations(api: GraphQLClient) -> None:
    await register(api, "iris", 2)
    both = """mutation {
      first: transitionStage(input: {modelName: "iris", version: 1, stage: PRODUCTION}) {
        modelVersion { model { productionVersion { version } } } }
      second: transitionStage(input: {modelName: "iris", version: 2, stage: PRODUCTION}) {
        modelVersion { model { productionVersion { version } } } }
    }"""
    data = await api.data(both)
    assert data["first"]["modelVersion"]["model"]["productionVersion"] == {"version": 1}
    assert data["second"]["modelVersion"]["model"]["productionVersion"] == {"version": 2}
