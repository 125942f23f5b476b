"""Registered models: create, read, update, delete, and their failure paths."""

import pytest

from storage.database import Database
from tests.graphql import GraphQLClient, register
from tests.snapshot import snapshot

CREATE = """
mutation($input: CreateModelInput!) {
  createModel(input: $input) {
    model { name description tags { key value } createdBy createdAt updatedAt }
  }
}
"""
GET = "query($name: String!) { model(name: $name) { name description tags { key value } } }"


async def test_create_and_read_model(api: GraphQLClient) -> None:
    data = await api.data(
        CREATE,
        {
            "input": {
                "name": "fraud.detector-v2_x",
                "description": "d",
                "tags": [{"key": "team", "value": "risk"}, {"key": "a", "value": "1"}],
            }
        },
    )
    model = data["createModel"]["model"]
    assert model["name"] == "fraud.detector-v2_x"
    assert model["tags"] == [{"key": "a", "value": "1"}, {"key": "team", "value": "risk"}]
    assert model["createdBy"] == api.actor
    assert model["createdAt"].endswith("+00:00")
    read = await api.data(GET, {"name": "fraud.detector-v2_x"})
    assert read["model"]["description"] == "d"


async def test_duplicate_name_is_a_conflict_and_changes_nothing(
    api: GraphQLClient, db: Database
) -> None:
    await api.data(CREATE, {"input": {"name": "iris", "description": "first"}})
    before = await snapshot(db)
    code = await api.code(CREATE, {"input": {"name": "iris", "description": "second"}})
    assert code == "CONFLICT"
    assert await snapshot(db) == before


# What MLflow refuses ('/', ':', blank, '.', a leading '..'), what a models:/ URI
# cannot carry ('?'), and what no one-line input may hold.
ILLEGAL_NAMES = [
    "",
    "   ",
    "x" * 257,
    "slash/name",
    "colon:name",
    "what?",
    ".",
    "..",
    "..up",
    "tab\tname",
    "nul\x00",
    "bidi\u202ename",
]
# Names MLflow accepts that the old [A-Za-z0-9][A-Za-z0-9._-]* refused.
MLFLOW_NAMES = ["fraud detector", "-leading-dash", "at@sign", "ünicode 模型", "50% off #1", ".x"]


@pytest.mark.parametrize("name", ILLEGAL_NAMES)
async def test_illegal_names_are_bad_user_input(
    api: GraphQLClient, db: Database, name: str
) -> None:
    before = await snapshot(db)
    assert await api.code(CREATE, {"input": {"name": name}}) == "BAD_USER_INPUT"
    query = (
        "mutation($i: CreateModelVersionInput!) { createModelVersion(input: $i) { __typename } }"
    )
    variables = {"i": {"modelName": name, "source": "s3://x"}}
    assert await api.code(query, variables) == "BAD_USER_INPUT"
    assert await snapshot(db) == before


async def test_longest_legal_name(api: GraphQLClient) -> None:
    name = "a" * 256
    await api.data(CREATE, {"input": {"name": name}})
    assert (await api.data(GET, {"name": name}))["model"]["name"] == name


async def test_names_mlflow_accepts_are_accepted(api: GraphQLClient) -> None:
    for name in [*MLFLOW_NAMES, "模" * 256]:
        await api.data(CREATE, {"input": {"name": name}})
        assert await register(api, name) == [1]
        assert (await api.data(GET, {"name": name}))["model"]["name"] == name


async def test_bad_tags_change_nothing(api: GraphQLClient, db: Database) -> None:
    before = await snapshot(db)
    twice = [{"key": "k", "value": "1"}, {"key": "k", "value": "2"}]
    assert await api.code(CREATE, {"input": {"name": "m", "tags": twice}}) == "BAD_USER_INPUT"
    empty_key = [{"key": "", "value": "1"}]
    assert await api.code(CREATE, {"input": {"name": "m", "tags": empty_key}}) == "BAD_USER_INPUT"
    assert await snapshot(db) == before


async def test_unknown_model_is_not_found(api: GraphQLClient) -> None:
    error = await api.error(GET, {"name": "nope"})
    assert error["extensions"] == {"code": "NOT_FOUND", "model": "nope"}
    assert error["path"] == ["model"]


async def test_update_model_description(api: GraphQLClient, db: Database) -> None:
    await api.data(CREATE, {"input": {"name": "iris"}})
    update = """mutation($input: UpdateModelInput!) {
      updateModel(input: $input) { model { description updatedBy } } }"""
    data = await api.data(update, {"input": {"name": "iris", "description": "new"}})
    assert data["updateModel"]["model"]["description"] == "new"
    before = await snapshot(db)
    code = await api.code(update, {"input": {"name": "nope", "description": "x"}})
    assert code == "NOT_FOUND"
    assert await snapshot(db) == before


async def test_delete_model_removes_everything(api: GraphQLClient, db: Database) -> None:
    await register(api, "iris", 2)
    await register(api, "keep", 1)
    delete = "mutation($input: DeleteModelInput!) { deleteModel(input: $input) { name } }"
    assert (await api.data(delete, {"input": {"name": "iris"}}))["deleteModel"] == {"name": "iris"}
    assert await api.code(GET, {"name": "iris"}) == "NOT_FOUND"
    state = await snapshot(db)
    assert [row[1] for row in state["models"]] == ["keep"]
    assert len(state["model_versions"]) == 1
    before = state
    assert await api.code(delete, {"input": {"name": "iris"}}) == "NOT_FOUND"
    assert await snapshot(db) == before
    # The name is free again and numbering starts over for the new model.
    assert await register(api, "iris") == [1]
