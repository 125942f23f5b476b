"""The production read's own path answers exactly what the executor answers, errors included."""

from typing import Any

import pytest

from schema.execution import Executor
from tests.graphql import GraphQLClient, register, transition

FIELDS = "version source runId stage createdAt digest description"
PLANNED = [
    "query($n: String!) { model(name: $n) { productionVersion { " + FIELDS + " } } }",
    "query Named($n: String!) { m: model(name: $n) { p: productionVersion { v: version stage } } }",
    '{ model(name: "served") { productionVersion { version } } }',
]
NOT_PLANNED = [
    "query($n: String!) { model(name: $n) { name productionVersion { version } } }",
    "query($n: String!) { model(name: $n) { productionVersion { version model { name } } } }",
    "query($n: String!) { model(name: $n) { productionVersion { __typename version } } }",
    "query($n: String!, $s: Boolean!) "
    "{ model(name: $n) { productionVersion { version @include(if: $s) } } }",
    'query($n: String = "served") { model(name: $n) { productionVersion { version } } }',
    "query($n: String!) { model(name: $n) { productionVersion { ...V } } } "
    "fragment V on ModelVersion { version }",
    "query($n: String!) { latestVersion: model(name: $n) { latestVersion { version } } }",
]


def test_only_the_production_reads_shape_gets_a_plan() -> None:
    executor = Executor()
    for query in PLANNED:
        assert executor.prepare(query).production_read is not None, query
    for query in NOT_PLANNED:
        prepared = executor.prepare(query)
        assert not prepared.errors, prepared.errors
        assert prepared.production_read is None, query


def _unplanned(query: str) -> str:
    """The same query, made unplannable without moving any token the errors point at."""
    head, _, tail = query.rpartition("}")
    return head + " __typename }" + tail


async def _both(api: GraphQLClient, query: str, variables: dict[str, Any] | None) -> None:
    planned = await api.post(query, variables)
    executed = await api.post(_unplanned(query), variables)
    assert planned.status_code == executed.status_code
    expected = executed.json()
    if expected.get("data"):
        expected["data"].pop("__typename")
    assert planned.json() == expected


@pytest.mark.parametrize("query", [PLANNED[0], PLANNED[1]])
async def test_the_production_read_answers_as_the_executor(api: GraphQLClient, query: str) -> None:
    await register(api, "served", 2)
    await transition(api, "served", 2, "PRODUCTION")
    await register(api, "unserved", 1)
    for variables in (
        {"n": "served"},  # a version in Production
        {"n": "unserved"},  # none: productionVersion is null
        {"n": "missing"},  # NOT_FOUND
        {"n": "bad\u0000name"},  # refused by the argument checks
        {"n": None},  # a null for String!
        {"n": 7},  # not a string
        {},  # no variable at all
    ):
        await _both(api, query, variables)
