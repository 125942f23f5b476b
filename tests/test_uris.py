"""resolveModelUri: every URI form MLflow users type."""

import pytest

from tests.graphql import GraphQLClient, register, transition

SET_ALIAS = "mutation($input: SetAliasInput!) { setAlias(input: $input) { previousVersion } }"
RESOLVE = "query($uri: String!) { resolveModelUri(uri: $uri) { version stage model { name } } }"


async def resolved(api: GraphQLClient, uri: str) -> int:
    data = await api.data(RESOLVE, {"uri": uri})
    version: int = data["resolveModelUri"]["version"]
    return version


async def test_every_uri_form(api: GraphQLClient) -> None:
    await register(api, "fraud.v2", 4)
    await transition(api, "fraud.v2", 2, "PRODUCTION")
    await transition(api, "fraud.v2", 1, "STAGING")
    await transition(api, "fraud.v2", 3, "STAGING")
    await transition(api, "fraud.v2", 4, "ARCHIVED")
    alias = {"modelName": "fraud.v2", "alias": "champion", "version": 1}
    await api.data(SET_ALIAS, {"input": alias})
    assert await resolved(api, "models:/fraud.v2/3") == 3
    for stage in ("Production", "production", "PRODUCTION"):
        assert await resolved(api, f"models:/fraud.v2/{stage}") == 2
    assert await resolved(api, "models:/fraud.v2/staging") == 3
    assert await resolved(api, "models:/fraud.v2/Archived") == 4
    assert await resolved(api, "models:/fraud.v2/latest") == 4
    assert await resolved(api, "models:/fraud.v2@champion") == 1


@pytest.mark.parametrize("name", ["fraud detector", "a@b", "ünicode 模型", "50% off #1"])
async def test_names_mlflow_accepts_resolve_in_every_form(api: GraphQLClient, name: str) -> None:
    await register(api, name, 2)
    await transition(api, name, 1, "PRODUCTION")
    await api.data(SET_ALIAS, {"input": {"modelName": name, "alias": "champion", "version": 2}})
    assert await resolved(api, f"models:/{name}/2") == 2
    assert await resolved(api, f"models:/{name}/Production") == 1
    assert await resolved(api, f"models:/{name}/latest") == 2
    # The last '@' starts the alias, as in MLflow: `a@b@champion` is a@b's champion.
    assert await resolved(api, f"models:/{name}@champion") == 2


@pytest.mark.parametrize(
    "uri",
    [
        "fraud/1",
        "models:/",
        "models:/fraud",
        "models:/fraud/",
        "models:/fraud/1/2",
        "models:/fraud/Prod",
        "models:/fraud@",
        "models:/fraud@latest",
        "models:/bad:name/1",
        "models:/bad?name/1",
        "models:/m-0123456789abcdef",
        "models:/fraud/0",
        "runs:/abc/model",
    ],
)
async def test_malformed_uris_are_bad_user_input(api: GraphQLClient, uri: str) -> None:
    assert await api.code(RESOLVE, {"uri": uri}) == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    "uri",
    ["models:/nope/1", "models:/iris/9", "models:/iris/Production", "models:/iris@champion"],
)
async def test_uris_that_match_nothing_are_not_found(api: GraphQLClient, uri: str) -> None:
    await register(api, "iris", 1)
    assert await api.code(RESOLVE, {"uri": uri}) == "NOT_FOUND"
