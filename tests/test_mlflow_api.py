"""The MLflow API's refusals over HTTP, on SQLite and PostgreSQL: codes, caps, nothing changed.

(The real MLflow client drives the whole surface in test_mlflow_client.py.)
"""

from typing import Any

import httpx
import pytest

from storage.database import Database
from storage.enums import Role
from tests.audit_rows import audit_rows
from tests.conftest import issue_token
from tests.graphql import GraphQLClient, register
from tests.snapshot import snapshot

API = "/api/2.0/mlflow/"


async def call(
    api: GraphQLClient, method: str, path: str, token: str | None = "", **kwargs: Any
) -> httpx.Response:
    """A call with the admin token ("" ), another token, or none (None)."""
    sent = api.token if token == "" else token
    headers = {"authorization": f"Bearer {sent}"} if sent else {}
    headers.update(kwargs.pop("headers", {}))
    return await api.http.request(method, API + path, headers=headers, **kwargs)


def mlflow_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error_code"] == code, body
    return str(body["message"])


async def test_shapes_of_a_version_and_a_model(api: GraphQLClient) -> None:
    created = await call(
        api,
        "POST",
        "model-versions/create",
        json={
            "name": "shapes",
            "source": "models:/m-0123",
            "run_id": "r1",
            "model_id": "m-0123",
            "run_link": "https://tracking/r1",
            "tags": [{"key": "k", "value": "v"}],
        },
    )
    assert created.status_code == 200, created.text
    version = created.json()["model_version"]
    assert version["version"] == "1"
    assert version["current_stage"] == "None"
    assert version["status"] == "READY"
    assert isinstance(version["creation_timestamp"], int)
    assert (version["source"], version["run_id"], version["model_id"], version["run_link"]) == (
        "models:/m-0123",
        "r1",
        "m-0123",
        "https://tracking/r1",
    )
    assert (version["tags"], version["aliases"], version["user_id"]) == (
        [{"key": "k", "value": "v"}],
        [],
        api.actor,
    )
    model = (await call(api, "GET", "registered-models/get", params={"name": "shapes"})).json()
    latest = model["registered_model"]["latest_versions"]
    assert [(v["version"], v["current_stage"]) for v in latest] == [("1", "None")]
    uri = await call(
        api, "GET", "model-versions/get-download-uri", params={"name": "shapes", "version": "1"}
    )
    assert uri.json() == {"artifact_uri": "models:/m-0123"}
    both = await call(
        api,
        "GET",
        "registered-models/get-latest-versions",
        params={"name": "shapes", "stages": ["none", "Production"]},
    )
    assert [v["version"] for v in both.json()["model_versions"]] == ["1"]


@pytest.mark.parametrize(
    ("method", "path", "fields", "status", "code"),
    [
        ("POST", "registered-models/create", {}, 400, "INVALID_PARAMETER_VALUE"),
        ("POST", "registered-models/create", {"name": "kept"}, 400, "RESOURCE_ALREADY_EXISTS"),
        ("POST", "registered-models/create", {"name": "a:b"}, 400, "INVALID_PARAMETER_VALUE"),
        ("POST", "registered-models/create", {"name": "nul\x00"}, 400, "INVALID_PARAMETER_VALUE"),
        ("POST", "registered-models/create", {"name": 7}, 400, "INVALID_PARAMETER_VALUE"),
        ("POST", "model-versions/create", {"name": "kept"}, 400, "INVALID_PARAMETER_VALUE"),
        (
            "PATCH",
            "model-versions/update",
            {"name": "kept", "version": "1.5"},
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "DELETE",
            "model-versions/delete",
            {"name": "kept", "version": "9"},
            404,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        (
            "POST",
            "registered-models/rename",
            {"name": "kept", "new_name": "other"},
            400,
            "RESOURCE_ALREADY_EXISTS",
        ),
        (
            "POST",
            "model-versions/transition-stage",
            {"name": "kept", "version": "1", "stage": "Gold", "archive_existing_versions": False},
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "POST",
            "registered-models/alias",
            {"name": "kept", "alias": "latest", "version": "1"},
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "DELETE",
            "registered-models/delete-tag",
            {"name": "kept", "key": "nope"},
            404,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        (
            "POST",
            "transition-requests/approve",
            {"name": "kept", "version": "1", "stage": "Production"},
            404,
            "RESOURCE_DOES_NOT_EXIST",
        ),
    ],
)
async def test_refused_writes_change_nothing_and_are_audited(
    api: GraphQLClient,
    db: Database,
    method: str,
    path: str,
    fields: dict[str, Any],
    status: int,
    code: str,
) -> None:
    await register(api, "kept")
    await register(api, "other")
    before = await snapshot(db)
    response = await call(api, method, path, json=fields)
    mlflow_error(response, status, code)
    assert await snapshot(db) == before
    rows = [r for r in await audit_rows(db) if str(r["action"]).startswith("mlflow.")]
    assert rows, "a refused write leaves its audit row"
    assert rows[-1]["actor"] == api.actor
    assert rows[-1]["result"] != "OK"


async def test_gated_production_says_how_to_ask_and_requests_round_trip(
    api: GraphQLClient, db: Database
) -> None:
    await register(api, "gated", 2)
    writer = await issue_token(db, "ci-writer", role=Role.WRITER)
    maintainer = await issue_token(db, "reviewer", role=Role.MAINTAINER)
    move = {
        "name": "gated",
        "version": "2",
        "stage": "Production",
        "archive_existing_versions": False,
    }
    # The tests' app opens the gate globally: close it again for this model.
    await api.data(
        'mutation { setStagePolicy(input: {stage: PRODUCTION, modelName: "gated", '
        "requiredApprovals: 1}) { __typename } }"
    )
    before = await snapshot(db)
    refused = await call(api, "POST", "model-versions/transition-stage", writer, json=move)
    assert "maintainer role" in mlflow_error(refused, 403, "PERMISSION_DENIED")
    refused = await call(api, "POST", "model-versions/transition-stage", maintainer, json=move)
    message = mlflow_error(refused, 403, "PERMISSION_DENIED")
    assert message.startswith("Approval required")
    assert "transition-requests/create" in message
    assert '"name": "gated", "version": "2", "stage": "Production"' in message
    assert await snapshot(db) == before
    asked = await call(api, "POST", "transition-requests/create", writer, json=move)
    assert asked.json()["request"]["to_stage"] == "Production"
    assert asked.json()["request"]["user_id"] == "ci-writer"
    listed = await call(
        api, "GET", "transition-requests/list", maintainer, params={"name": "gated", "version": "2"}
    )
    (open_request,) = listed.json()["requests"]
    assert (open_request["activity_type"], open_request["user_id"]) == (
        "REQUESTED_TRANSITION",
        "ci-writer",
    )
    own = await call(api, "POST", "transition-requests/approve", writer, json=move)
    mlflow_error(own, 403, "PERMISSION_DENIED")
    approved = await call(api, "POST", "transition-requests/approve", maintainer, json=move)
    assert approved.json()["activity"]["activity_type"] == "APPROVED_REQUEST"
    latest = await call(
        api,
        "POST",
        "registered-models/get-latest-versions",
        json={"name": "gated", "stages": ["Production"]},
    )
    assert [v["version"] for v in latest.json()["model_versions"]] == ["2"]
    # Another request, rejected; and one cancelled by its creator.
    await call(api, "POST", "transition-requests/create", writer, json={**move, "version": "1"})
    rejected = await call(
        api, "POST", "transition-requests/reject", maintainer, json={**move, "version": "1"}
    )
    assert rejected.json()["activity"]["activity_type"] == "REJECTED_REQUEST"
    await call(api, "POST", "transition-requests/create", writer, json={**move, "version": "1"})
    cancelled = await call(
        api,
        "DELETE",
        "transition-requests/delete",
        writer,
        params={"name": "gated", "version": "1", "stage": "Production", "creator": "ci-writer"},
    )
    assert cancelled.json()["activity"]["activity_type"] == "CANCELLED_REQUEST"
    none_left = await call(
        api, "GET", "transition-requests/list", params={"name": "gated", "version": "1"}
    )
    assert none_left.json() == {"requests": []}


async def test_authentication_comes_first(api: GraphQLClient, db: Database) -> None:
    before = await snapshot(db)
    for token in (None, "mr_not-a-token", "not-even-a-bearer"):
        response = await call(api, "POST", "registered-models/create", token, content=b"{not json")
        mlflow_error(response, 401, "UNAUTHENTICATED")
        assert response.headers["www-authenticate"].startswith("Bearer")
    basic = await call(
        api,
        "GET",
        "registered-models/search",
        None,
        headers={"authorization": "Basic bm90LWJhc2U2NA"},
    )
    mlflow_error(basic, 401, "UNAUTHENTICATED")
    assert await snapshot(db) == before


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"filter": "name = 'a'" + " AND name = 'a'" * 20}, "filter"),
        ({"filter": "name LIKE '" + "x" * 5000 + "'"}, "filter"),
        ({"filter": "name = 'a\x01'"}, "filter"),
        ({"filter": "name = 'a'; DROP TABLE models"}, "filter"),
        ({"max_results": "1001"}, "max_results"),
        ({"max_results": "0"}, "max_results"),
        ({"page_token": "bm90IGEgdG9rZW4"}, "page_token"),
        ({"order_by": ["name", "name DESC"]}, "orderBy"),
        ({"order_by": ["color"]}, "orderBy"),
    ],
)
async def test_searches_are_bounded(api: GraphQLClient, params: dict[str, Any], field: str) -> None:
    response = await call(api, "GET", "registered-models/search", params=params)
    mlflow_error(response, 400, "INVALID_PARAMETER_VALUE")


async def test_a_version_page_is_cut_to_the_cap_and_leads_on(api: GraphQLClient) -> None:
    await register(api, "many", 3)
    response = await call(
        api,
        "GET",
        "model-versions/search",
        params={"max_results": "10000", "filter": "name='many'"},
    )
    assert [v["version"] for v in response.json()["model_versions"]] == ["3", "2", "1"]
    assert "next_page_token" not in response.json()
    refused = await call(api, "GET", "model-versions/search", params={"max_results": "200001"})
    mlflow_error(refused, 400, "INVALID_PARAMETER_VALUE")


async def test_bodies_are_bounded_and_unknown_endpoints_are_mlflow_errors(
    api: GraphQLClient,
) -> None:
    huge = await call(
        api, "POST", "registered-models/create", content=b'{"name": "' + b"x" * 2_000_000 + b'"}'
    )
    assert huge.status_code == 413
    for body in (b"[1, 2]", b"{oops"):
        bad = await call(api, "POST", "registered-models/create", content=body)
        mlflow_error(bad, 400, "INVALID_PARAMETER_VALUE")
    unknown = await call(api, "GET", "experiments/search")
    mlflow_error(unknown, 404, "ENDPOINT_NOT_FOUND")
    wrong_method = await call(api, "GET", "registered-models/create")
    mlflow_error(wrong_method, 404, "ENDPOINT_NOT_FOUND")


async def test_a_stage_that_requires_a_model_card_is_permission_denied(
    api: GraphQLClient, db: Database
) -> None:
    await register(api, "carded")
    await api.data(
        'mutation { setStagePolicy(input: {stage: STAGING, modelName: "carded", '
        "requireModelCard: true}) { __typename } }"
    )
    move = {"name": "carded", "version": "1", "stage": "Staging"}
    before = await snapshot(db)
    for path in ("model-versions/transition-stage", "transition-requests/create"):
        refused = await call(api, "POST", path, json={**move, "archive_existing_versions": False})
        assert "no model card" in mlflow_error(refused, 403, "PERMISSION_DENIED")
    assert await snapshot(db) == before


EVENTS = """query($names: [String!]!) { events(first: 20, filter: {modelNames: $names}) {
  edges { node { type actor modelName data } } } }"""


async def test_events_name_the_token_and_a_rename_says_the_old_name(
    api: GraphQLClient, db: Database
) -> None:
    writer = await issue_token(db, "ci-writer", role=Role.WRITER)
    created = await call(
        api, "POST", "model-versions/create", writer, json={"name": "old", "source": "s3://x"}
    )
    assert created.status_code == 200, created.text
    renamed = await call(
        api, "POST", "registered-models/rename", writer, json={"name": "old", "new_name": "new"}
    )
    assert renamed.json()["registered_model"]["name"] == "new"
    edges = (await api.data(EVENTS, {"names": ["old", "new"]}))["events"]["edges"]
    events = [(e["node"]["type"], e["node"]["actor"], e["node"]["modelName"]) for e in edges]
    assert events == [
        ("model.created", "ci-writer", "old"),
        ("model_version.created", "ci-writer", "old"),
        ("model.updated", "ci-writer", "new"),
    ]
    assert edges[-1]["node"]["data"]["previousName"] == "old"
    limited = await issue_token(db, "fraud-only", role=Role.WRITER, models=("new",))
    moved_out = await call(
        api, "POST", "registered-models/rename", limited, json={"name": "new", "new_name": "x"}
    )
    mlflow_error(moved_out, 403, "PERMISSION_DENIED")


async def pages(api: GraphQLClient, path: str, key: str, params: dict[str, Any]) -> list[Any]:
    """Every item of a search, following next_page_token to the end."""
    found: list[Any] = []
    token: str | None = None
    while True:
        response = await call(api, "GET", path, params={**params, "page_token": token or ""})
        assert response.status_code == 200, response.text
        body = response.json()
        found += body.get(key, [])
        token = body.get("next_page_token")
        if not token:
            return found


async def test_time_orders_page_without_gaps_or_repeats(api: GraphQLClient) -> None:
    names = [f"timed-{i}" for i in range(5)]
    for name in names:
        await register(api, name, 2)
    await register(api, "timed-1")  # now the most recently updated model
    newest_first = await pages(
        api,
        "registered-models/search",
        "registered_models",
        {"max_results": "2", "order_by": ["last_updated_timestamp DESC"]},
    )
    assert [m["name"] for m in newest_first] == [
        "timed-1",
        "timed-4",
        "timed-3",
        "timed-2",
        "timed-0",
    ]
    oldest_first = await pages(
        api,
        "model-versions/search",
        "model_versions",
        {
            "max_results": "3",
            "order_by": ["creation_timestamp ASC"],
            "filter": "name LIKE 'timed-%'",
        },
    )
    assert [(v["name"], v["version"]) for v in oldest_first] == [
        *((name, number) for name in names for number in ("1", "2")),
        ("timed-1", "3"),
    ]
