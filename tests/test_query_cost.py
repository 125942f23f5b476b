"""The query cost rule: what a document may ask for, measured before it runs."""

import pytest
from graphql import (
    GraphQLList,
    GraphQLObjectType,
    get_introspection_query,
    get_nullable_type,
    parse,
)

from resolvers.audit_throttle import AuditThrottle
from schema import limits
from schema.execution import CACHE_TEXT_BUDGET, Executor
from schema.schema import schema
from tests.graphql import GraphQLClient

SCHEMA = schema._schema


def list_fields() -> set[str]:
    found = set()
    for type_ in SCHEMA.type_map.values():
        if isinstance(type_, GraphQLObjectType) and not type_.name.startswith("__"):
            for name, field in type_.fields.items():
                listed = isinstance(get_nullable_type(field.type), GraphQLList)
                paged = "first" in field.args or type_.name.endswith("Connection")
                if listed and not paged:
                    found.add(f"{type_.name}.{name}")
    return found


def test_every_list_field_has_a_bound() -> None:
    """A new plain list must say how long it can be, and enforce it."""
    assert list_fields() - set(limits.LIST_BOUNDS) == set()
    assert set(limits.LIST_BOUNDS) - list_fields() == set(), "stale entries"


def problem(query: str, variables: dict[str, object] | None = None) -> str | None:
    document = parse(query)
    return limits.request_problem(SCHEMA, document, None, variables)


def test_doubling_fragments_are_measured_once() -> None:
    fragments = "".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(59))
    query = "query { ...F0 } " + fragments + " fragment F59 on Query { __typename }"
    found = problem(query)  # 2^59 objects, measured without expanding them
    assert found is not None
    assert "more than 100000 objects" in found


def test_plain_lists_count_their_bound() -> None:
    """Each level of stagingVersions multiplies by its bound (100), as a page would."""
    inner = "name"
    for levels in range(1, 4):
        inner = f"stagingVersions {{ model {{ {inner} }} }}"
        found = problem(f'{{ model(name: "m") {{ {inner} }} }}')
        assert (found is None) == (levels < 3), (levels, found)


def test_variable_pages_are_judged_by_their_values() -> None:
    query = """query($first: Int!) { models(first: $first) { edges { node {
      tags { key } versions(first: 10) { edges { node { tags { key } } } } } } } }"""
    assert problem(query, {"first": 5}) is None
    assert problem(query, {"first": 100}) is not None
    # Validation lets it through (it may be cheap), the request is judged with its values.
    assert limits.needs_variables(SCHEMA, parse(query))


def test_introspection_is_sized_by_the_schema() -> None:
    """GraphiQL's introspection query passes; nesting introspection lists deeper does not."""
    assert problem(get_introspection_query()) is None
    types = "__schema { types { fields { type { fields { type { fields { name } } } } } } }"
    found = problem(f"{{ {types} }}")
    assert found is not None
    assert "introspection nests 3 lists" not in found
    assert "the limit is 3" in found


async def test_graphiql_can_load_the_schema(api: GraphQLClient) -> None:
    data = await api.data(get_introspection_query())
    assert data["__schema"]["queryType"]["name"] == "Query"


def test_depth_and_mutation_counts() -> None:
    nested = "model { latestVersion { " * 8 + "version" + " } }" * 8
    found = problem(f'{{ modelVersion(name: "a", version: 1) {{ {nested} }} }}')
    assert found is not None
    assert "levels deep" in found
    many = " ".join(
        f'm{i}: deleteTag(input: {{modelName: "m", key: "k"}}) {{ __typename }}' for i in range(101)
    )
    found = problem(f"mutation {{ {many} }}")
    assert found == "a request may run at most 100 mutations"


async def test_a_page_size_of_many_digits_is_a_validation_error(api: GraphQLClient) -> None:
    query = "{ models(first: " + "9" * 5_000 + ") { totalCount } }"
    assert await api.code(query, status=400) == "GRAPHQL_VALIDATION_FAILED"


async def test_refusals_over_http(api: GraphQLClient) -> None:
    versions = "versions(first: 100) { edges { node { metrics { key } } } }"
    query = f"query($n: Int!) {{ models(first: $n) {{ edges {{ node {{ {versions} }} }} }} }}"
    assert await api.code(query, {"n": 2}, status=400) == "QUERY_TOO_COMPLEX"
    tokens = "{" + " __typename" * 6_000 + "}"
    assert await api.code(tokens, status=400) == "QUERY_TOO_COMPLEX"


def test_the_document_cache_is_bounded_by_text() -> None:
    executor = Executor()
    for i in range(200):
        executor.prepare(f"query Q{i} {{ __typename }}" + " " * 4_000)
    assert 0 < executor.cached_text_length <= CACHE_TEXT_BUDGET
    huge = "query { __typename }" + " " * 20_000
    before = executor.cached_text_length
    executor.prepare(huge)
    assert executor.cached_text_length == before  # too long to keep


@pytest.mark.parametrize("addresses", [1, 50])
def test_the_audit_throttle(addresses: int) -> None:
    now = [0.0]
    throttle = AuditThrottle(per_address=3, overall=10, window_seconds=60, clock=lambda: now[0])
    admitted = [throttle.admit(f"10.0.0.{i % addresses}") for i in range(100)]
    assert sum(a is not None for a in admitted) == (3 if addresses == 1 else 10)
    now[0] = 60.0  # refilled: the next row says how many were left out
    assert throttle.admit("10.0.0.0") == (97 if addresses == 1 else 1)


def test_model_cards_count_as_their_size() -> None:
    """A card is up to 64 KiB: it counts as 64 objects, so pages of cards stay bounded."""
    cards = '{ model(name: "m") { versions(first: 20) { edges { node { modelCard } } } } }'
    assert problem(cards) is None
    history = """{ model(name: "m") { versions(first: 100) { edges { node {
      modelCardHistory(first: 100) { edges { node { modelCard previousModelCard } } }
    } } } } }"""
    found = problem(history)
    assert found is not None
    assert "objects" in found
    one = '{ modelVersion(name: "m", version: 1) { modelCardHistory(first: 100) { edges { node {'
    assert problem(one + " modelCard previousModelCard } } } } }") is None
