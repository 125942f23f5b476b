"""GraphQL over HTTP: transport errors, masking, limits, GraphiQL and probes."""

import logging

import httpx
import pytest

import resolvers.models
from storage.database import Database, create_database
from tests.conftest import serving
from tests.graphql import GraphQLClient, register


async def test_malformed_json_is_a_400_with_a_graphql_error(api: GraphQLClient) -> None:
    response = await api.http.post(
        "/graphql",
        content=b'{"query": ',
        headers={"content-type": "application/json", **api.headers},
    )
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {"message": "request body is not valid JSON", "extensions": {"code": "BAD_REQUEST"}}
        ]
    }


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"query=%7B+models+%7B+totalCount+%7D+%7D", "application/x-www-form-urlencoded"),
        (b"{ models { totalCount } }", "application/graphql"),
        (b'{"query": "{ __typename }"}', "text/plain"),
        (b'{"query": "{ __typename }"}', ""),
    ],
)
async def test_non_json_requests_are_400(
    api: GraphQLClient, content: bytes, content_type: str
) -> None:
    response = await api.http.post(
        "/graphql", content=content, headers={"content-type": content_type, **api.headers}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"query": 1},
        {"query": "   "},
        {"variables": {}},
        {"query": "{ __typename }", "variables": []},
        {"query": "{ __typename }", "operationName": 3},
    ],
)
async def test_json_that_is_not_a_graphql_request_is_400(api: GraphQLClient, body: object) -> None:
    response = await api.http.post("/graphql", json=body, headers=api.headers)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_oversized_bodies_are_refused(api: GraphQLClient) -> None:
    body = {"query": "#" + "x" * 1_100_000}
    response = await api.http.post("/graphql", json=body, headers=api.headers)
    assert response.status_code == 413


async def test_syntax_and_validation_errors(api: GraphQLClient) -> None:
    assert await api.code("{ models { ", status=400) == "GRAPHQL_PARSE_FAILED"
    assert await api.code("{ nope }", status=400) == "GRAPHQL_VALIDATION_FAILED"
    two_ops = "query A { __typename } query B { __typename }"
    assert await api.code(two_ops, status=400) == "BAD_USER_INPUT"


async def test_deep_or_costly_queries_are_refused(api: GraphQLClient) -> None:
    nested = "model { latestVersion { " * 8 + "version" + " } }" * 8
    deep = f'{{ modelVersion(name: "a", version: 1) {{ {nested} }} }}'
    assert await api.code(deep, status=400) == "QUERY_TOO_COMPLEX"
    fan_out = """{ models(first: 100) { edges { node { versions(first: 100) { edges { node {
      stageHistory(first: 100) { edges { node { version } } } } } } } } } }"""
    assert await api.code(fan_out, status=400) == "QUERY_TOO_COMPLEX"


async def test_unexpected_errors_are_masked_and_logged(
    api: GraphQLClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("secret detail: password=hunter2")

    monkeypatch.setattr(resolvers.models, "get_model", broken)
    with caplog.at_level(logging.ERROR, logger="modelreg.graphql"):
        response = await api.post('{ model(name: "iris") { name } }')
    body = response.json()
    assert response.status_code == 200
    assert body["errors"][0]["message"] == "Internal server error"
    assert body["errors"][0]["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "hunter2" not in response.text
    [record] = [r for r in caplog.records if r.name == "modelreg.graphql"]
    assert record.exc_info is not None
    assert "hunter2" in str(record.exc_info[1])


async def test_graphiql_and_get_requests(api: GraphQLClient) -> None:
    page = await api.http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    plain = await api.http.get("/graphql", params={"query": "{ __typename }"})
    assert plain.status_code == 405
    assert plain.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_health_and_readiness(api: GraphQLClient, db: Database) -> None:
    assert (await api.http.get("/healthz")).json() == {"status": "ok"}
    ready = await api.http.get("/readyz")
    assert ready.status_code == 200
    await register(api, "iris")


async def test_readiness_fails_when_the_database_is_gone(db: Database) -> None:
    async with serving(db) as client:
        app_db = create_database("postgresql+asyncpg://postgres@127.0.0.1:1/unreachable")
        transport = client.http._transport
        assert isinstance(transport, httpx.ASGITransport)
        app = transport.app
        app.state.db = app_db  # type: ignore[attr-defined]
        try:
            response = await client.http.get("/readyz")
        finally:
            app.state.db = db  # type: ignore[attr-defined]
            await app_db.dispose()
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
