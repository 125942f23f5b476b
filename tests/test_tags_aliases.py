"""Tags on models and versions, and aliases."""

from storage.database import Database
from tests.graphql import GraphQLClient, register
from tests.snapshot import snapshot

SET_TAG = """mutation($input: SetTagInput!) { setTag(input: $input) {
  model { name tags { key value } } modelVersion { version tags { key value } }
  tag { key value } } }"""
DELETE_TAG = """mutation($input: DeleteTagInput!) { deleteTag(input: $input) {
  model { tags { key } } modelVersion { tags { key } } key } }"""
SET_ALIAS = """mutation($input: SetAliasInput!) { setAlias(input: $input) {
  alias { alias version modelVersion { version aliases } } previousVersion } }"""
DELETE_ALIAS = """mutation($input: DeleteAliasInput!) { deleteAlias(input: $input) {
  alias version model { aliases { alias } } } }"""


async def test_tags_on_models_and_versions(api: GraphQLClient) -> None:
    await register(api, "iris", 1)
    data = await api.data(SET_TAG, {"input": {"modelName": "iris", "key": "team", "value": "a"}})
    assert data["setTag"]["model"]["tags"] == [{"key": "team", "value": "a"}]
    assert data["setTag"]["modelVersion"] is None
    data = await api.data(SET_TAG, {"input": {"modelName": "iris", "key": "team", "value": "b"}})
    assert data["setTag"]["tag"] == {"key": "team", "value": "b"}
    version_tag = {"modelName": "iris", "version": 1, "key": "validated", "value": "yes"}
    data = await api.data(SET_TAG, {"input": version_tag})
    assert data["setTag"]["modelVersion"]["tags"] == [{"key": "validated", "value": "yes"}]
    assert data["setTag"]["model"]["tags"] == [{"key": "team", "value": "b"}]

    data = await api.data(
        DELETE_TAG, {"input": {"modelName": "iris", "version": 1, "key": "validated"}}
    )
    assert data["deleteTag"]["modelVersion"]["tags"] == []
    data = await api.data(DELETE_TAG, {"input": {"modelName": "iris", "key": "team"}})
    assert data["deleteTag"]["model"]["tags"] == []


async def test_refused_tag_changes_change_nothing(api: GraphQLClient, db: Database) -> None:
    await register(api, "iris", 1)
    before = await snapshot(db)
    assert await api.code(DELETE_TAG, {"input": {"modelName": "iris", "key": "x"}}) == "NOT_FOUND"
    missing_version = {"modelName": "iris", "version": 2, "key": "x", "value": "y"}
    assert await api.code(SET_TAG, {"input": missing_version}) == "NOT_FOUND"
    empty_key = {"modelName": "iris", "key": "", "value": "y"}
    assert await api.code(SET_TAG, {"input": empty_key}) == "BAD_USER_INPUT"
    long_value = {"modelName": "iris", "key": "k", "value": "v" * 5001}
    assert await api.code(SET_TAG, {"input": long_value}) == "BAD_USER_INPUT"
    unknown_model = {"modelName": "nope", "key": "k", "value": "v"}
    assert await api.code(SET_TAG, {"input": unknown_model}) == "NOT_FOUND"
    assert await snapshot(db) == before


async def test_aliases_point_move_and_go(api: GraphQLClient) -> None:
    await register(api, "iris", 2)
    data = await api.data(
        SET_ALIAS, {"input": {"modelName": "iris", "alias": "champion", "version": 1}}
    )
    assert data["setAlias"] == {
        "alias": {
            "alias": "champion",
            "version": 1,
            "modelVersion": {"version": 1, "aliases": ["champion"]},
        },
        "previousVersion": None,
    }
    data = await api.data(
        SET_ALIAS, {"input": {"modelName": "iris", "alias": "champion", "version": 2}}
    )
    assert data["setAlias"]["previousVersion"] == 1
    assert data["setAlias"]["alias"]["version"] == 2
    query = '{ model(name: "iris") { aliases { alias version modelVersion { version } } } }'
    assert (await api.data(query))["model"]["aliases"] == [
        {"alias": "champion", "version": 2, "modelVersion": {"version": 2}}
    ]
    data = await api.data(DELETE_ALIAS, {"input": {"modelName": "iris", "alias": "champion"}})
    assert data["deleteAlias"] == {"alias": "champion", "version": 2, "model": {"aliases": []}}


async def test_deleting_a_version_drops_its_aliases(api: GraphQLClient) -> None:
    await register(api, "iris", 1)
    await api.data(SET_ALIAS, {"input": {"modelName": "iris", "alias": "champion", "version": 1}})
    await api.data(
        'mutation { deleteModelVersion(input: {modelName: "iris", version: 1}) { version } }'
    )
    query = '{ model(name: "iris") { aliases { alias } } }'
    assert (await api.data(query))["model"]["aliases"] == []


async def test_refused_alias_changes_change_nothing(api: GraphQLClient, db: Database) -> None:
    await register(api, "iris", 1)
    before = await snapshot(db)
    for alias in ("latest", "v2", "V10", "", "has space", "a/b"):
        payload = {"modelName": "iris", "alias": alias, "version": 1}
        assert await api.code(SET_ALIAS, {"input": payload}) == "BAD_USER_INPUT", alias
    missing = {"modelName": "iris", "alias": "champion", "version": 5}
    assert await api.code(SET_ALIAS, {"input": missing}) == "NOT_FOUND"
    absent = {"modelName": "iris", "alias": "champion"}
    assert await api.code(DELETE_ALIAS, {"input": absent}) == "NOT_FOUND"
    assert await snapshot(db) == before
