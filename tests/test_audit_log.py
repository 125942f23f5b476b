"""The audit log: one row per mutation call (refusals included), read by admins only."""

from datetime import timedelta, timezone
from typing import Any

import pytest
from strawberry.types.base import get_object_definition

import resolvers.models
from schema.mutation import Mutation
from storage.database import Database
from storage.enums import Role
from tests.audit_rows import AUDIT_LOG, audit_entries, audit_rows
from tests.conftest import issue_token
from tests.graphql import GraphQLClient, register, transition
from tests.snapshot import snapshot

CLIENT_ADDRESS = "203.0.113.7"  # what tests/conftest.py's ASGI transport reports
CREATE_MODEL = "mutation($name: String!) { createModel(input: {name: $name}) { model { name } } }"
SET_TAG = """
mutation($model: String!, $version: Int) {
  setTag(input: {modelName: $model, version: $version, key: "team", value: "risk"}) {
    __typename
  }
}
"""


async def test_each_successful_mutation_writes_exactly_one_row(
    api: GraphQLClient, db: Database
) -> None:
    assert await audit_rows(db) == []
    await api.data(CREATE_MODEL, {"name": "fraud"})
    await register(api, "fraud", metrics=[{"key": "auc", "value": 0.91}], runId="run-1")
    await transition(api, "fraud", 1, "STAGING", comment="looks good")
    await api.data(SET_TAG, {"model": "fraud", "version": 1})

    entries = await audit_entries(api)
    assert [e["action"] for e in entries] == [
        "setTag",
        "transitionStage",
        "createModelVersion",
        "createModel",
    ]
    assert len(await audit_rows(db)) == 4
    for entry in entries:
        assert entry["actor"] == api.actor
        assert entry["model"] == "fraud"
        assert entry["result"] == "OK"
        assert entry["message"] is None
        assert entry["clientAddress"] == CLIENT_ADDRESS
        assert entry["requestId"].startswith("req_")
        assert entry["createdAt"].endswith("+00:00")
    assert len({e["requestId"] for e in entries}) == 4
    assert len({e["id"] for e in entries}) == 4

    set_tag, staged, registered, created = entries
    assert staged["target"] == "fraud/1"
    assert staged["input"] == {
        "modelName": "fraud",
        "version": 1,
        "stage": "STAGING",
        "archiveExisting": False,
        "comment": "looks good",
        "force": False,
    }
    assert registered["target"] == "fraud/1"
    assert registered["input"]["source"] == "s3://models/fraud"
    assert registered["input"]["runId"] == "run-1"
    assert registered["input"]["metrics"] == [{"key": "auc", "value": 0.91}]
    assert created["input"]["name"] == "fraud"
    assert set_tag["target"] == "fraud/1"
    assert set_tag["input"]["key"] == "team"


async def test_each_mutation_of_a_document_gets_its_own_row(
    api: GraphQLClient, db: Database
) -> None:
    document = """
    mutation {
      first: createModel(input: {name: "fraud"}) { model { name } }
      second: createModel(input: {name: "fraud"}) { model { name } }
    }
    """
    response = await api.post(document)
    body = response.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["CONFLICT"]
    rows = await audit_rows(db)
    assert [(r["action"], r["result"]) for r in rows] == [
        ("createModel", "OK"),
        ("createModel", "CONFLICT"),
    ]
    assert rows[0]["request_id"] == rows[1]["request_id"] == response.headers["x-request-id"]

    # Without a valid token nothing is parsed: one row says who tried, whatever was asked.
    refused = await api.as_token(None).post(document)
    assert refused.status_code == 401
    rows = (await audit_rows(db))[2:]
    assert [(r["actor"], r["action"], r["result"]) for r in rows] == [
        ("anonymous", "authenticate", "UNAUTHENTICATED")
    ]
    assert rows[0]["request_id"] == refused.headers["x-request-id"]
    assert (await api.as_token(None).post("{ viewer { name } }")).status_code == 401
    assert len(await audit_rows(db)) == 4
    # Queries by token holders are not audited.
    await api.data("{ viewer { name } }")
    assert len(await audit_rows(db)) == 4


async def test_a_refused_document_writes_one_row(api: GraphQLClient, db: Database) -> None:
    """A flood of refused mutations in one document costs one audit row.

    Payloads are non-null, so the first refusal ends the document's serial run;
    refusals are written once per request after the document, whatever ran.
    """
    reader = api.as_token(await issue_token(db, "reader", Role.READER), "reader")
    deletes = " ".join(
        f'd{i}: deleteModel(input: {{name: "m{i}"}}) {{ __typename }}' for i in range(50)
    )
    document = f"mutation {{ ...F }} fragment F on Mutation {{ {deletes} }}"
    before = await snapshot(db)
    response = await reader.post(document)
    assert response.status_code == 200
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["FORBIDDEN"]
    [row] = await audit_rows(db)
    assert (row["actor"], row["action"], row["result"]) == ("reader", "deleteModel", "FORBIDDEN")
    assert await snapshot(db) == before


async def test_the_callers_request_id_is_kept_and_echoed(api: GraphQLClient, db: Database) -> None:
    headers = {"authorization": f"Bearer {api.token}", "x-request-id": "ci-run-42.step:3"}
    body = {"query": CREATE_MODEL, "variables": {"name": "fraud"}}
    response = await api.http.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200, response.json()
    assert response.headers["x-request-id"] == "ci-run-42.step:3"

    # Without one (or with one that does not look like an id), the server makes one.
    for sent in ({}, {"x-request-id": "has spaces and is " + "long" * 20}):
        body = {"query": CREATE_MODEL, "variables": {"name": f"churn-{len(sent)}"}}
        headers = {"authorization": f"Bearer {api.token}", **sent}
        response = await api.http.post("/graphql", json=body, headers=headers)
        assert response.status_code == 200, response.json()
        assert response.headers["x-request-id"].startswith("req_")

    rows = await audit_rows(db)
    assert rows[0]["request_id"] == "ci-run-42.step:3"
    assert rows[1]["request_id"].startswith("req_")
    assert rows[2]["request_id"].startswith("req_")
    assert rows[1]["request_id"] != rows[2]["request_id"]


async def test_every_response_carries_a_request_id(api: GraphQLClient) -> None:
    response = await api.post("{ viewer { name } }")
    assert response.headers["x-request-id"].startswith("req_")
    refused = await api.as_token(None).post("{ viewer { name } }")
    assert refused.status_code == 401
    assert refused.headers["x-request-id"].startswith("req_")


REFUSALS: list[tuple[str, str, dict[str, Any]]] = [
    ("BAD_USER_INPUT", CREATE_MODEL, {"name": "has/slash"}),
    ("NOT_FOUND", SET_TAG, {"model": "nope", "version": None}),
    # Raised inside the write transaction: its rolled-back OK row must not survive.
    ("CONFLICT", CREATE_MODEL, {"name": "fraud"}),
    (
        "INVALID_TRANSITION",
        'mutation { transitionStage(input: {modelName: "fraud", version: 1, stage: NONE}) '
        "{ __typename } }",
        {},
    ),
]


@pytest.mark.parametrize(("code", "query", "variables"), REFUSALS, ids=[r[0] for r in REFUSALS])
async def test_a_refused_mutation_writes_one_row_with_its_code(
    api: GraphQLClient, db: Database, code: str, query: str, variables: dict[str, Any]
) -> None:
    await register(api, "fraud")
    before, rows_before = await snapshot(db), await audit_rows(db)
    error = await api.error(query, variables)
    assert error["extensions"]["code"] == code
    assert await snapshot(db) == before

    rows = await audit_rows(db)
    assert len(rows) == len(rows_before) + 1
    row = rows[-1]
    assert row["result"] == code
    assert row["message"] == error["message"]
    assert row["actor"] == api.actor
    assert row["client_address"] == CLIENT_ADDRESS


async def test_a_forbidden_mutation_is_audited_with_the_tokens_name(
    api: GraphQLClient, db: Database
) -> None:
    reader = api.as_token(await issue_token(db, "dashboard", Role.READER), "dashboard")
    before = await snapshot(db)
    assert await reader.code(CREATE_MODEL, {"name": "fraud"}) == "FORBIDDEN"
    assert await snapshot(db) == before
    [entry] = await audit_entries(api)
    assert entry["actor"] == "dashboard"
    assert entry["action"] == "createModel"
    assert entry["model"] == "fraud"
    assert entry["result"] == "FORBIDDEN"
    assert "writer" in entry["message"]


async def test_filters_by_actor_model_action_and_time(
    api: GraphQLClient, db: Database, frozen_clock: list[Any]
) -> None:
    ci = api.as_token(await issue_token(db, "ci", Role.MAINTAINER), "ci")
    start = frozen_clock[-1]
    await register(api, "fraud")  # at start
    frozen_clock.append(start + timedelta(hours=1))
    await register(ci, "churn")
    await transition(ci, "churn", 1, "STAGING")
    frozen_clock.append(start + timedelta(hours=2))
    await transition(api, "fraud", 1, "STAGING")

    def summary(entries: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
        return [(e["actor"], e["action"], e["model"]) for e in entries]

    assert summary(await audit_entries(api, actor="ci")) == [
        ("ci", "transitionStage", "churn"),
        ("ci", "createModelVersion", "churn"),
    ]
    assert summary(await audit_entries(api, model="fraud")) == [
        (api.actor, "transitionStage", "fraud"),
        (api.actor, "createModelVersion", "fraud"),
    ]
    assert summary(await audit_entries(api, action="transitionStage", actor=api.actor)) == [
        (api.actor, "transitionStage", "fraud")
    ]
    assert await audit_entries(api, actor="nobody") == []

    hour = (start + timedelta(hours=1)).isoformat()
    two_hours = (start + timedelta(hours=2)).isoformat()
    # `since` is inclusive, `until` exclusive.
    assert summary(await audit_entries(api, since=hour, until=two_hours)) == [
        ("ci", "transitionStage", "churn"),
        ("ci", "createModelVersion", "churn"),
    ]
    assert summary(await audit_entries(api, until=hour)) == [
        (api.actor, "createModelVersion", "fraud")
    ]
    assert len(await audit_entries(api, since=two_hours)) == 1
    in_paris = (start + timedelta(hours=2)).astimezone(timezone(timedelta(hours=1))).isoformat()
    assert len(await audit_entries(api, since=in_paris)) == 1


async def test_times_without_a_zone_are_refused(api: GraphQLClient) -> None:
    variables = {"filter": {"since": "2026-01-01T00:00:00"}}
    error = await api.error(AUDIT_LOG, variables)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "filter.since"


async def test_pages_newest_first_with_keyset_cursors(api: GraphQLClient) -> None:
    for i in range(5):
        await api.data(CREATE_MODEL, {"name": f"m{i}"})
    first = (await api.data(AUDIT_LOG, {"first": 2}))["auditLog"]
    assert first["totalCount"] == 5
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    seen = [e["node"]["target"] for e in first["edges"]]
    cursor = first["pageInfo"]["endCursor"]
    # A row written after the first page was read does not shift the next one.
    await api.data(CREATE_MODEL, {"name": "late"})
    while cursor is not None:
        page = (await api.data(AUDIT_LOG, {"first": 2, "after": cursor}))["auditLog"]
        assert page["pageInfo"]["hasPreviousPage"] is True
        seen += [e["node"]["target"] for e in page["edges"]]
        cursor = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert seen == ["m4", "m3", "m2", "m1", "m0"]

    filtered = (await api.data(AUDIT_LOG, {"first": 1, "filter": {"model": "m1"}}))["auditLog"]
    assert filtered["totalCount"] == 1
    assert filtered["pageInfo"]["hasNextPage"] is False

    assert await api.code(AUDIT_LOG, {"first": 101}) == "BAD_USER_INPUT"
    assert await api.code(AUDIT_LOG, {"first": -1}) == "BAD_USER_INPUT"
    assert await api.code(AUDIT_LOG, {"after": "not-a-cursor"}) == "BAD_USER_INPUT"
    models_cursor = (await api.data("{ models(first: 1) { pageInfo { endCursor } } }"))["models"]
    assert (
        await api.code(AUDIT_LOG, {"after": models_cursor["pageInfo"]["endCursor"]})
        == "BAD_USER_INPUT"
    )
    assert len((await api.data(AUDIT_LOG, {"first": 100}))["auditLog"]["edges"]) == 6


@pytest.mark.parametrize("role", [Role.READER, Role.WRITER, Role.MAINTAINER])
async def test_only_admins_read_the_log(api: GraphQLClient, db: Database, role: Role) -> None:
    await register(api, "fraud")
    other = api.as_token(await issue_token(db, f"a-{role.value}", role), f"a-{role.value}")
    error = await other.error(AUDIT_LOG, {"first": 10})
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "auditLog" in error["message"]
    assert await api.as_token(None).code(AUDIT_LOG, status=401) == "UNAUTHENTICATED"


def test_no_mutation_changes_or_deletes_audit_rows() -> None:
    names = [f.name for f in get_object_definition(Mutation, strict=True).fields]
    assert not [name for name in names if "audit" in name.lower()]


async def test_an_unexpected_failure_is_audited_without_its_details(
    api: GraphQLClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("secret detail: password=hunter2")

    monkeypatch.setattr(resolvers.models, "create_model", broken)
    assert await api.code(CREATE_MODEL, {"name": "fraud"}) == "INTERNAL_SERVER_ERROR"
    [row] = await audit_rows(db)
    assert row["result"] == "INTERNAL_SERVER_ERROR"
    assert row["action"] == "createModel"
    assert "hunter2" not in str(row)


async def test_credentials_in_urls_are_not_kept(api: GraphQLClient, db: Database) -> None:
    await register(api, "fraud", source="s3://AKIAKEY:hunter2@bucket/fraud")
    webhook = "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { secret } }"
    variables = {"i": {"url": "https://bob:hunter2@hooks.example.com/x", "events": ["*"]}}
    assert await api.code(webhook, variables) == "BAD_USER_INPUT"
    registered, refused = await audit_rows(db)
    assert registered["input"]["source"] == "s3://[redacted]@bucket/fraud"
    assert refused["input"]["url"] == "https://[redacted]@hooks.example.com/x"
    assert "hunter2" not in str(await audit_rows(db))
