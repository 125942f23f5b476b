"""Filters have size caps: over the cap is a quick BAD_USER_INPUT, the cap itself works.

Each tag condition of `models(filter:)` is a subquery: 1,000 of them made
SQLite answer "Expression tree is too large" (INTERNAL_SERVER_ERROR) and kept
an 8 MB statement in an unbounded cache per distinct count; 300 took 57 s on
PostgreSQL.
"""

import time
from typing import Any

from resolvers import validation
from storage.database import Database
from storage.queries import models as model_queries
from tests.audit_rows import audit_rows
from tests.graphql import GraphQLClient, register
from tests.snapshot import snapshot

LIST = """query($filter: ModelFilter) {
  models(first: 100, filter: $filter) { totalCount edges { node { name } } }
}"""
SET_TAG = "mutation($input: SetTagInput!) { setTag(input: $input) { tag { key } } }"
# Refusing is cheap: far below what one filtered query costs on a loaded server.
# Counted in CPU time of this process (the in-process server's, all its threads):
# wall time also counts whatever else the machine runs (CI saw 0.74 s wall for a
# refusal while a benchmark and the other test workers shared the 2 cores).
REFUSAL_BUDGET_S = 0.5


def tags(count: int) -> list[dict[str, str]]:
    return [{"key": f"k{i}", "value": f"v{i}"} for i in range(count)]


async def refused(api: GraphQLClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    started = time.process_time()
    error = await api.error(query, variables)
    assert time.process_time() - started < REFUSAL_BUDGET_S
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    return error


async def test_more_tag_conditions_than_the_cap_are_refused_quickly(api: GraphQLClient) -> None:
    cap = validation.FILTER_TAGS_MAX
    for count in (cap + 1, 1000):
        error = await refused(api, LIST, {"filter": {"tags": tags(count)}})
        assert error["extensions"]["field"] == "filter.tags"
        assert error["extensions"]["max"] == cap
        assert f"at most {cap}" in error["message"]


async def test_the_largest_allowed_tag_filter_works(api: GraphQLClient) -> None:
    cap = validation.FILTER_TAGS_MAX
    await register(api, "fraud")
    await register(api, "churn")
    for model, count in (("fraud", cap), ("churn", cap - 1)):
        for tag in tags(count):
            await api.data(SET_TAG, {"input": {"modelName": model, **tag}})
    started = time.perf_counter()
    data = await api.data(LIST, {"filter": {"tags": tags(cap)}})
    assert time.perf_counter() - started < 2.0
    assert data["models"]["totalCount"] == 1
    assert data["models"]["edges"] == [{"node": {"name": "fraud"}}]
    data = await api.data(LIST, {"filter": {"tags": tags(cap - 1), "nameStartsWith": "ch"}})
    assert data["models"]["edges"] == [{"node": {"name": "churn"}}]


async def test_name_filters_are_at_most_a_model_name_long(api: GraphQLClient) -> None:
    name = "m" * validation.MODEL_NAME_MAX
    await register(api, name)
    for field in ("nameContains", "nameStartsWith"):
        data = await api.data(LIST, {"filter": {field: name}})
        assert data["models"]["totalCount"] == 1
        for length in (validation.MODEL_NAME_MAX + 1, 50_000):
            error = await refused(api, LIST, {"filter": {field: "m" * length}})
            assert error["extensions"]["field"] == f"filter.{field}"


async def test_prefixes_of_every_length_share_one_cached_statement(api: GraphQLClient) -> None:
    await register(api, "fraud-detector")
    cached = model_queries._list_statement.cache_info()
    assert cached.maxsize is not None
    for length in range(1, len("fraud-detector") + 1):
        data = await api.data(LIST, {"filter": {"nameStartsWith": "fraud-detector"[:length]}})
        assert data["models"]["totalCount"] == 1
    grown = model_queries._list_statement.cache_info().currsize - cached.currsize
    assert grown <= 1
    assert model_queries._count_statement.cache_info().maxsize is not None


async def test_the_statement_caches_stay_bounded(api: GraphQLClient) -> None:
    """Every shape a caller can ask for fits in the caches: no caller can grow them further."""
    stages = [None, "PRODUCTION"]
    for count in range(validation.FILTER_TAGS_MAX + 1):
        for stage in stages:
            model_filter = {"tags": tags(count), "nameContains": "x", "hasVersionInStage": stage}
            await api.data(LIST, {"filter": model_filter})
    for cached in (model_queries._list_statement, model_queries._count_statement):
        info = cached.cache_info()
        assert info.maxsize is not None
        assert info.currsize <= info.maxsize


async def test_the_other_filters_are_bounded_too(api: GraphQLClient, db: Database) -> None:
    audit_log = "query($filter: AuditFilter) { auditLog(filter: $filter) { totalCount } }"
    for field in ("actor", "model", "action"):
        error = await refused(api, audit_log, {"filter": {field: "a" * 50_000}})
        assert error["extensions"]["field"] == f"filter.{field}"
    requests = """query($filter: TransitionRequestFilter) {
      transitionRequests(filter: $filter) { totalCount } }"""
    error = await refused(api, requests, {"filter": {"model": "m" * 50_000}})
    assert error["extensions"]["field"] == "filter.model"

    before, rows = await snapshot(db), len(await audit_rows(db))
    create = """mutation($input: CreateWebhookInput!) {
      createWebhook(input: $input) { webhook { id } } }"""
    hook = {"url": "https://hooks.example.com/x", "events": ["*"]}
    names = [f"model-{i}" for i in range(validation.LIST_MAX)]
    error = await refused(api, create, {"input": {**hook, "modelNames": names}})
    assert error["extensions"]["field"] == "modelNames"
    error = await refused(api, create, {"input": {**hook, "modelNames": [*names, "one-more"]}})
    assert error["extensions"]["field"] == "modelNames"
    # Any list of any input: none holds more than LIST_MAX items.
    register_many = """mutation($input: CreateModelVersionInput!) {
      createModelVersion(input: $input) { __typename } }"""
    version = {"modelName": "fraud", "source": "s3://b/m", "tags": tags(validation.LIST_MAX + 1)}
    error = await refused(api, register_many, {"input": version})
    assert error["extensions"]["field"] == "tags"
    assert await snapshot(db) == before
    assert [r["result"] for r in (await audit_rows(db))[rows:]] == ["BAD_USER_INPUT"] * 3
