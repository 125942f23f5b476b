"""Numbers written oddly, out of range, or hidden in tampered cursors: BAD_USER_INPUT.

`str.isdigit` says yes to '³' (which `int` then rejects: INTERNAL_SERVER_ERROR)
and to '\u0661', an Arabic-Indic one that `int` reads as 1; SQLite overflows above
2^63 and PostgreSQL's version column above 2^31. Only ASCII digits within the
column's range reach the database.
"""

import base64
import json
from typing import Any

import pytest

from resolvers import validation
from storage.database import Database
from tests.audit_rows import audit_rows
from tests.graphql import GraphQLClient, register
from tests.snapshot import snapshot
from webhooks.sender import retry_after

ODD_IDS = [
    "³",
    "\u0661",  # ARABIC-INDIC DIGIT ONE, which int() reads as 1
    "\uff11",  # FULLWIDTH DIGIT ONE
    "1.0",
    "+1",
    "-1",
    " 1",
    "1e3",
    "0x10",
    str(2**63),
    "9" * 5000,
    "",
]
WEBHOOK = "query($id: ID!) { webhook(id: $id) { id } }"
REQUEST = "query($id: ID!) { transitionRequest(id: $id) { id } }"
REDELIVER = "mutation($id: ID!) { redeliver(input: {deliveryId: $id}) { __typename } }"
RESOLVE = "query($uri: String!) { resolveModelUri(uri: $uri) { version } }"


@pytest.mark.parametrize("odd", ODD_IDS)
async def test_ids_are_ascii_digits_within_64_bits(
    api: GraphQLClient, db: Database, odd: str
) -> None:
    before, rows = await snapshot(db), len(await audit_rows(db))
    for query, field in ((WEBHOOK, "id"), (REQUEST, "id"), (REDELIVER, "deliveryId")):
        error = await api.error(query, {"id": odd})
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, query
        assert len(error["message"]) < 200  # a 5,000-digit id is not echoed whole
    assert await snapshot(db) == before
    [row] = (await audit_rows(db))[rows:]
    assert (row["action"], row["result"]) == ("redeliver", "BAD_USER_INPUT")


async def test_the_largest_id_is_merely_not_found(api: GraphQLClient) -> None:
    largest = str(2**63 - 1)
    for query in (WEBHOOK, REQUEST, REDELIVER):
        assert await api.code(query, {"id": largest}) == "NOT_FOUND"
    assert await api.code(WEBHOOK, {"id": "0"}) == "NOT_FOUND"


@pytest.mark.parametrize(
    "suffix", ["³", "\u0661", "\uff11", "2147483648", "9" * 300, "0", "00", "-1", "1.0"]
)
async def test_uri_versions_are_ascii_digits_within_the_column(
    api: GraphQLClient, suffix: str
) -> None:
    await register(api, "m1")
    error = await api.error(RESOLVE, {"uri": f"models:/m1/{suffix}"})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "uri"


async def test_uri_versions_in_range_resolve(api: GraphQLClient) -> None:
    await register(api, "m1")
    assert (await api.data(RESOLVE, {"uri": "models:/m1/1"}))["resolveModelUri"]["version"] == 1
    assert (await api.data(RESOLVE, {"uri": "models:/m1/01"}))["resolveModelUri"]["version"] == 1
    assert await api.code(RESOLVE, {"uri": f"models:/m1/{2**31 - 1}"}) == "NOT_FOUND"
    error = await api.error(RESOLVE, {"uri": "models:/" + "m" * 50_000 + "/1"})
    assert error["extensions"]["field"] == "uri"


def cursor(*payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(payload)).encode()).decode().rstrip("=")


MODELS_BY_NAME = """query($after: String) {
  models(first: 5, after: $after) { edges { node { name } } } }"""
MODELS_BY_TIME = """query($after: String) {
  models(first: 5, after: $after, orderBy: {field: CREATED_AT}) { edges { node { name } } } }"""
VERSIONS = """query($after: String) {
  model(name: "m1") { versions(first: 5, after: $after) { edges { node { version } } } } }"""
AUDIT = "query($after: String) { auditLog(first: 5, after: $after) { edges { node { id } } } }"

TAMPERED = {
    "above 2^63": (MODELS_BY_NAME, cursor("models:name:asc", "a", 2**63)),
    "2^64 (a float to JSON)": (AUDIT, cursor("audit", 2**64)),
    "negative": (AUDIT, cursor("audit", -1)),
    "zero": (AUDIT, cursor("audit", 0)),
    "a boolean": (AUDIT, cursor("audit", True)),
    "a version above 2^31": (VERSIONS, cursor("versions", 2**31)),
    "a NUL in the name": (MODELS_BY_NAME, cursor("models:name:asc", "a\x00", 1)),
    "a long name": (MODELS_BY_NAME, cursor("models:name:asc", "a" * 5000, 1)),
    "a name that is a list": (MODELS_BY_NAME, cursor("models:name:asc", ["a"], 1)),
    "a time without a zone": (
        MODELS_BY_TIME,
        cursor("models:created_at:asc", "2026-01-01T00:00:00", 1),
    ),
    "a time before the first UTC day": (
        MODELS_BY_TIME,
        cursor("models:created_at:asc", "0001-01-01T00:00:00+14:00", 1),
    ),
    "a time that is a number": (MODELS_BY_TIME, cursor("models:created_at:asc", 17, 1)),
    "another list's cursor": (AUDIT, cursor("versions", 1)),
    "too few parts": (MODELS_BY_NAME, cursor("models:name:asc", "a")),
    "not base64": (AUDIT, "!!!not a cursor!!!"),
    "not JSON": (AUDIT, base64.urlsafe_b64encode(b"\xff\xfe{").decode()),
    "non-ASCII": (AUDIT, "é" * 8),
    "huge": (AUDIT, cursor("audit", 1) + "A" * 100_000),
}


@pytest.mark.parametrize("case", list(TAMPERED))
async def test_tampered_cursors_are_bad_user_input(api: GraphQLClient, case: str) -> None:
    await register(api, "m1")
    query, after = TAMPERED[case]
    error = await api.error(query, {"after": after})
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}, case


async def test_cursors_at_the_ends_of_their_range_work(api: GraphQLClient) -> None:
    await register(api, "m1", 2)
    data = await api.data(VERSIONS, {"after": cursor("versions", validation.INT32_MAX)})
    assert [e["node"]["version"] for e in data["model"]["versions"]["edges"]] == [2, 1]
    data = await api.data(AUDIT, {"after": cursor("audit", validation.INT64_MAX)})
    assert len(data["auditLog"]["edges"]) == 2  # the two registrations
    data = await api.data(MODELS_BY_NAME, {"after": cursor("models:name:asc", "", 1)})
    assert data["models"]["edges"] == [{"node": {"name": "m1"}}]
    offset_time = cursor("models:created_at:asc", "2000-01-01T05:00:00+05:00", 1)
    data = await api.data(MODELS_BY_TIME, {"after": offset_time})
    assert data["models"]["edges"] == [{"node": {"name": "m1"}}]


@pytest.mark.parametrize(
    "expires_in", ["\u0661d", "³d", "\uff11d", "9" * 20 + "d", "9" * 5000 + "s"]
)
async def test_token_durations_are_ascii_digits(api: GraphQLClient, expires_in: str) -> None:
    create = """mutation($e: String) {
      createApiToken(input: {name: "ci", role: READER, expiresIn: $e}) { token } }"""
    error = await api.error(create, {"e": expires_in})
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "expiresIn"}


async def test_audit_filter_times_at_the_ends_of_the_calendar(api: GraphQLClient) -> None:
    query = "query($filter: AuditFilter) { auditLog(filter: $filter) { totalCount } }"
    for field in ("since", "until"):
        filter_ = {field: "0001-01-01T00:00:00+14:00"}
        error = await api.error(query, {"filter": filter_})
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": f"filter.{field}"}


def test_a_retry_after_header_in_odd_digits_is_ignored() -> None:
    """An endpoint's Retry-After is hostile input too: it must not break the dispatcher."""
    assert retry_after("³") is None
    assert retry_after("\u0661") is None
    assert retry_after("9" * 5000) is None
    assert retry_after(" 30 ") == 30.0
    # "-0000" gives a datetime without a zone; it is UTC (RFC 5322), long past here.
    assert retry_after("Wed, 21 Oct 2015 07:28:00 -0000") == 0.0
