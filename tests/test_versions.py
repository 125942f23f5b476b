"""Model versions: registration, numbering, immutability, updates and deletes."""

from typing import Any

from storage.database import Database
from tests.graphql import GraphQLClient, register
from tests.snapshot import snapshot

CREATE_FULL = """
mutation($input: CreateModelVersionInput!) {
  createModelVersion(input: $input) {
    modelVersion {
      version stage source runId digest modelId runLink description createdBy
      metrics { key value } params { key value } tags { key value }
      model { name latestVersion { version } }
    }
  }
}
"""
GET = """query($name: String!, $version: Int!) {
  modelVersion(name: $name, version: $version) { version source description } }"""
DIGEST = "AB" * 32


def full_input(**overrides: Any) -> dict[str, Any]:
    return {
        "modelName": "iris",
        "source": "s3://bucket/iris/1",
        "runId": "run-42",
        "digest": DIGEST,
        "modelId": "m-0123456789abcdef0123456789abcdef",
        "runLink": "https://mlflow.example/#/experiments/1/runs/run-42",
        "description": "first",
        "tags": [{"key": "owner", "value": "ana"}],
        "metrics": [{"key": "f1", "value": 0.91}, {"key": "auc", "value": 0.5}],
        "params": [{"key": "lr", "value": "0.01"}],
        **overrides,
    }


async def test_register_creates_the_model_and_keeps_every_field(api: GraphQLClient) -> None:
    data = await api.data(CREATE_FULL, {"input": full_input()})
    version = data["createModelVersion"]["modelVersion"]
    assert version == {
        "version": 1,
        "stage": "NONE",
        "source": "s3://bucket/iris/1",
        "runId": "run-42",
        "digest": "sha256:" + DIGEST.lower(),
        "modelId": "m-0123456789abcdef0123456789abcdef",
        "runLink": "https://mlflow.example/#/experiments/1/runs/run-42",
        "description": "first",
        "createdBy": api.actor,
        "metrics": [{"key": "auc", "value": 0.5}, {"key": "f1", "value": 0.91}],
        "params": [{"key": "lr", "value": "0.01"}],
        "tags": [{"key": "owner", "value": "ana"}],
        "model": {"name": "iris", "latestVersion": {"version": 1}},
    }


async def test_numbers_start_at_one_per_model_and_are_never_reused(api: GraphQLClient) -> None:
    assert await register(api, "a", 3) == [1, 2, 3]
    assert await register(api, "b", 1) == [1]
    delete = """mutation($input: DeleteModelVersionInput!) {
      deleteModelVersion(input: $input) { modelName version } }"""
    data = await api.data(delete, {"input": {"modelName": "a", "version": 3}})
    assert data["deleteModelVersion"] == {"modelName": "a", "version": 3}
    assert await api.code(GET, {"name": "a", "version": 3}) == "NOT_FOUND"
    assert await register(api, "a", 1) == [4]


async def test_bad_inputs_change_nothing(api: GraphQLClient, db: Database) -> None:
    await register(api, "iris")
    before = await snapshot(db)
    bad_inputs = [
        full_input(source=""),
        full_input(source="   "),
        full_input(digest="sha256:1234"),
        full_input(digest="md5:" + "a" * 32),
        full_input(metrics=[{"key": "f1", "value": 1}, {"key": "f1", "value": 2}]),
        full_input(params=[{"key": "", "value": "x"}]),
        full_input(runId="r" * 257),
        full_input(modelId="m" * 257),
        full_input(modelId="m-1\n"),
        full_input(runLink="h" * 4097),
        full_input(description="d" * 10_001),
        full_input(modelName="bad/name"),
    ]
    for bad in bad_inputs:
        assert await api.code(CREATE_FULL, {"input": bad}) == "BAD_USER_INPUT", bad
    assert await snapshot(db) == before


async def test_missing_required_field_is_bad_user_input(api: GraphQLClient, db: Database) -> None:
    before = await snapshot(db)
    code = await api.code(CREATE_FULL, {"input": {"modelName": "iris"}}, status=400)
    assert code == "BAD_USER_INPUT"
    assert await snapshot(db) == before


async def test_only_the_description_can_change(api: GraphQLClient, db: Database) -> None:
    await api.data(CREATE_FULL, {"input": full_input()})
    update = """mutation($input: UpdateModelVersionInput!) {
      updateModelVersion(input: $input) { modelVersion { description source runId } } }"""
    data = await api.data(
        update, {"input": {"modelName": "iris", "version": 1, "description": "x"}}
    )
    assert data["updateModelVersion"]["modelVersion"] == {
        "description": "x",
        "source": "s3://bucket/iris/1",
        "runId": "run-42",
    }
    before = await snapshot(db)
    immutable = {"modelName": "iris", "version": 1, "description": "y", "source": "s3://other"}
    assert await api.code(update, {"input": immutable}, status=400) == "BAD_USER_INPUT"
    missing = {"modelName": "iris", "version": 9, "description": "y"}
    assert await api.code(update, {"input": missing}) == "NOT_FOUND"
    assert await snapshot(db) == before


async def test_unknown_model_and_version_are_not_found(api: GraphQLClient) -> None:
    await register(api, "iris")
    error = await api.error(GET, {"name": "iris", "version": 2})
    assert error["extensions"] == {"code": "NOT_FOUND", "model": "iris", "version": 2}
    error = await api.error(GET, {"name": "nope", "version": 1})
    assert error["extensions"] == {"code": "NOT_FOUND", "model": "nope"}
    assert await api.code(GET, {"name": "iris", "version": 0}) == "BAD_USER_INPUT"


async def test_version_numbers_beyond_int32_are_rejected(api: GraphQLClient) -> None:
    code = await api.code(GET, {"name": "iris", "version": 2**31}, status=400)
    assert code == "BAD_USER_INPUT"


async def test_delete_unknown_version_changes_nothing(api: GraphQLClient, db: Database) -> None:
    await register(api, "iris")
    before = await snapshot(db)
    delete = """mutation($input: DeleteModelVersionInput!) {
      deleteModelVersion(input: $input) { version } }"""
    assert await api.code(delete, {"input": {"modelName": "iris", "version": 5}}) == "NOT_FOUND"
    assert await snapshot(db) == before
