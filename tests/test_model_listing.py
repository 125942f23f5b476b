"""models(first, after, filter, orderBy): keyset pages, filters and their limits."""

from datetime import timedelta
from typing import Any

import pytest

from tests.graphql import GraphQLClient, register, transition

LIST = """query($first: Int, $after: String, $filter: ModelFilter, $orderBy: ModelOrder) {
  models(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { name } }
  }
}"""
SET_TAG = "mutation($input: SetTagInput!) { setTag(input: $input) { tag { key } } }"


async def names(api: GraphQLClient, **variables: Any) -> list[str]:
    data = await api.data(LIST, {"first": 100, **variables})
    return [edge["node"]["name"] for edge in data["models"]["edges"]]


async def test_pages_follow_cursors_without_gaps_or_repeats(api: GraphQLClient) -> None:
    expected = [f"model-{i:02d}" for i in range(23)]
    for name in reversed(expected):
        await register(api, name)
    seen: list[str] = []
    after = None
    while True:
        data = (await api.data(LIST, {"first": 10, "after": after}))["models"]
        assert data["totalCount"] == 23
        assert data["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [edge["node"]["name"] for edge in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert seen == expected
    # A model created behind the cursor does not shift the next page (no offsets).
    first_page = (await api.data(LIST, {"first": 5}))["models"]
    await register(api, "a-first")
    second = await names(api, first=5, after=first_page["pageInfo"]["endCursor"])
    assert second == expected[5:10]


async def test_order_by_time_and_direction(api: GraphQLClient, frozen_clock: list[Any]) -> None:
    for name in ("b", "c", "a"):
        frozen_clock.append(frozen_clock[-1] + timedelta(seconds=1))
        await register(api, name)
    frozen_clock.append(frozen_clock[-1] + timedelta(seconds=1))
    await register(api, "b")  # a new version updates its model
    assert await names(api) == ["a", "b", "c"]
    assert await names(api, orderBy={"direction": "DESC"}) == ["c", "b", "a"]
    assert await names(api, orderBy={"field": "CREATED_AT"}) == ["b", "c", "a"]
    assert await names(api, orderBy={"field": "UPDATED_AT", "direction": "DESC"}) == ["b", "a", "c"]
    by_created = (await api.data(LIST, {"first": 1, "orderBy": {"field": "CREATED_AT"}}))["models"]
    after = by_created["pageInfo"]["endCursor"]
    assert await names(api, after=after, orderBy={"field": "CREATED_AT"}) == ["c", "a"]


async def test_filters(api: GraphQLClient) -> None:
    for name in ("fraud-eu", "fraud-us", "churn", "Fraudulent"):
        await register(api, name)
    await api.data(SET_TAG, {"input": {"modelName": "fraud-eu", "key": "team", "value": "risk"}})
    await api.data(SET_TAG, {"input": {"modelName": "fraud-eu", "key": "tier", "value": "1"}})
    await api.data(SET_TAG, {"input": {"modelName": "churn", "key": "team", "value": "risk"}})
    await transition(api, "fraud-us", 1, "STAGING")

    assert await names(api, filter={"nameStartsWith": "fraud"}) == ["fraud-eu", "fraud-us"]
    assert await names(api, filter={"nameContains": "RAUD"}) == [
        "Fraudulent",
        "fraud-eu",
        "fraud-us",
    ]
    assert await names(api, filter={"nameContains": "%"}) == []
    team = [{"key": "team", "value": "risk"}]
    assert await names(api, filter={"tags": team}) == ["churn", "fraud-eu"]
    both = [*team, {"key": "tier", "value": "1"}]
    assert await names(api, filter={"tags": both}) == ["fraud-eu"]
    assert await names(api, filter={"hasVersionInStage": "STAGING"}) == ["fraud-us"]
    combined = {"nameStartsWith": "fraud", "tags": team}
    data = await api.data(LIST, {"first": 100, "filter": combined})
    assert data["models"]["totalCount"] == 1


@pytest.mark.parametrize("first", [-1, 101, 1000])
async def test_first_out_of_range_is_bad_user_input(api: GraphQLClient, first: int) -> None:
    assert await api.code(LIST, {"first": first}) == "BAD_USER_INPUT"


async def test_first_zero_counts_only(api: GraphQLClient) -> None:
    await register(api, "iris")
    data = (await api.data(LIST, {"first": 0}))["models"]
    assert data["edges"] == []
    assert data["totalCount"] == 1
    assert data["pageInfo"]["hasNextPage"] is True


async def test_foreign_or_forged_cursors_are_bad_user_input(api: GraphQLClient) -> None:
    await register(api, "iris", 2)
    query = '{ model(name: "iris") { versions(first: 1) { pageInfo { endCursor } } } }'
    version_cursor = (await api.data(query))["model"]["versions"]["pageInfo"]["endCursor"]
    for cursor in (version_cursor, "not-a-cursor", "W10", ""):
        assert await api.code(LIST, {"after": cursor}) == "BAD_USER_INPUT", cursor
    name_cursor = (await api.data(LIST, {"first": 1}))["models"]["pageInfo"]["endCursor"]
    by_created = {"field": "CREATED_AT"}
    assert await api.code(LIST, {"after": name_cursor, "orderBy": by_created}) == "BAD_USER_INPUT"


async def test_versions_connection_pages_and_filters(api: GraphQLClient) -> None:
    await register(api, "iris", 5)
    await transition(api, "iris", 2, "STAGING")
    await transition(api, "iris", 4, "STAGING")
    query = """query($after: String, $stage: Stage) { model(name: "iris") {
      versions(first: 2, after: $after, stage: $stage) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { version } } } } }"""
    page = (await api.data(query))["model"]["versions"]
    assert [e["node"]["version"] for e in page["edges"]] == [5, 4]
    assert page["totalCount"] == 5
    after = page["pageInfo"]["endCursor"]
    page = (await api.data(query, {"after": after}))["model"]["versions"]
    assert [e["node"]["version"] for e in page["edges"]] == [3, 2]
    staging = (await api.data(query, {"stage": "STAGING"}))["model"]["versions"]
    assert [e["node"]["version"] for e in staging["edges"]] == [4, 2]
    assert staging["totalCount"] == 2
    assert staging["pageInfo"]["hasNextPage"] is False


async def test_a_prefix_of_the_last_code_point_finds_its_names(api: GraphQLClient) -> None:
    """U+10FFFF has no successor: the prefix range still ends above every such name."""
    last = "\U0010ffff"
    for name in (last, last + "x", last * 256, "z"):
        await register(api, name)
    found = await names(api, filter={"nameStartsWith": last})
    assert found == [last, last + "x", last * 256]
