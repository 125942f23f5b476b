"""Transition requests: who may do what, what refusals leave behind, and when they go STALE."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.settings import Settings
from storage.database import Database
from storage.enums import Role
from tests.conftest import issue_token, serving
from tests.graphql import TRANSITION, GraphQLClient, register, transition
from tests.request_client import (
    APPROVE,
    CANCEL,
    COMMENT,
    READ,
    REJECT,
    REQUEST,
    Team,
    approve,
    fraud_in_production,
    gated_team,
    read,
    report,
    request,
    stages_of,
    team_of,
)
from tests.snapshot import snapshot
from tests.test_query_count import counting_statements

LIST = """
query($first: Int, $after: String, $filter: TransitionRequestFilter) {
  transitionRequests(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id version toStage status } }
  }
}
"""
OF_VERSION = """
query($status: TransitionRequestStatus) {
  modelVersion(name: "fraud", version: 2) {
    transitionRequests(status: $status) { id status requestedBy }
  }
}
"""


@pytest.fixture
async def team(db: Database) -> AsyncIterator[Team]:
    async with gated_team(db) as members:
        await fraud_in_production(members)
        yield members


async def refused(
    db: Database, client: GraphQLClient, query: str, variables: dict[str, Any], code: str
) -> str:
    """Run a call that must fail with `code` and change nothing; return its message."""
    before = await snapshot(db)
    error = await client.error(query, variables)
    assert error["extensions"]["code"] == code, error
    assert await snapshot(db) == before
    return str(error["message"])


async def test_a_request_records_the_current_stage_and_waits(team: Team) -> None:
    await transition(team.admin, "fraud", 2, "STAGING")
    asked = await request(team.writer, "fraud", 2, "PRODUCTION", comment="auc up")
    assert asked["status"] == "PENDING"
    assert (asked["fromStage"], asked["toStage"]) == ("STAGING", "PRODUCTION")
    assert (asked["requestedBy"], asked["comment"]) == ("walter", "auc up")
    assert asked["model"] == {"name": "fraud"}
    assert asked["modelVersion"] == {"version": 2, "stage": "STAGING"}
    assert (asked["requiredApprovals"], asked["requiredChecks"]) == (1, [])
    assert asked["approvals"] == asked["checks"] == []
    assert asked["resolvedAt"] is None
    assert await read(team.reader, asked["id"]) == asked
    assert await stages_of(team.admin, "fraud") == {1: "PRODUCTION", 2: "STAGING"}


async def test_refusals_change_nothing_and_have_stable_codes(team: Team, db: Database) -> None:
    def asking(stage: str, **fields: object) -> dict[str, object]:
        return {"input": {"modelName": "fraud", "version": 1, "stage": stage, **fields}}

    message = await refused(db, team.writer, REQUEST, asking("PRODUCTION"), "INVALID_TRANSITION")
    assert "already in PRODUCTION" in message
    await refused(db, team.reader, REQUEST, asking("ARCHIVED"), "FORBIDDEN")
    await refused(
        db, team.writer, REQUEST, asking("ARCHIVED", archiveExisting=True), "BAD_USER_INPUT"
    )
    missing = {"input": {"modelName": "fraud", "version": 9, "stage": "STAGING"}}
    await refused(db, team.writer, REQUEST, missing, "NOT_FOUND")
    await refused(db, team.maya, APPROVE, {"id": "999"}, "NOT_FOUND")
    await refused(db, team.maya, APPROVE, {"id": "x1"}, "BAD_USER_INPUT")
    assert (await team.reader.error(READ, {"id": "999"}))["extensions"]["code"] == "NOT_FOUND"


async def test_four_eyes_the_requester_never_approves_or_rejects(team: Team, db: Database) -> None:
    asked = await request(team.maya, "fraud", 2, "PRODUCTION")
    for mutation in (APPROVE, REJECT):
        message = await refused(db, team.maya, mutation, {"id": asked["id"]}, "FORBIDDEN")
        assert "four eyes" in message
    # Admins are no exception to the rule.
    by_admin = await request(team.admin, "fraud", 2, "STAGING")
    await refused(db, team.admin, APPROVE, {"id": by_admin["id"]}, "FORBIDDEN")
    assert (await read(team.admin, asked["id"]))["status"] == "PENDING"


async def test_writers_and_maintainers_of_other_models_cannot_decide(
    team: Team, db: Database
) -> None:
    asked = await request(team.writer, "fraud", 2, "PRODUCTION")
    for mutation in (APPROVE, REJECT):
        message = await refused(db, team.writer, mutation, {"id": asked["id"]}, "FORBIDDEN")
        assert "maintainer" in message
    churn_only = await issue_token(db, "cora", Role.MAINTAINER, ("churn*",))
    other = team.admin.as_token(churn_only, "cora")
    await refused(db, other, APPROVE, {"id": asked["id"]}, "FORBIDDEN")


async def test_reject_ends_the_request(team: Team, db: Database) -> None:
    asked = await request(team.writer, "fraud", 2, "PRODUCTION")
    data = await team.maya.data(REJECT, {"id": asked["id"], "comment": "metrics regressed"})
    rejected = data["rejectTransitionRequest"]["transitionRequest"]
    assert (rejected["status"], rejected["resolvedBy"]) == ("REJECTED", "maya")
    assert rejected["rejections"] == [{"actor": "maya", "comment": "metrics regressed"}]
    message = await refused(db, team.max, APPROVE, {"id": asked["id"]}, "INVALID_TRANSITION")
    assert "is REJECTED" in message
    assert await stages_of(team.admin, "fraud") == {1: "PRODUCTION", 2: "NONE"}


async def test_cancel_by_the_requester_or_an_admin_only(team: Team, db: Database) -> None:
    first = await request(team.writer, "fraud", 2, "PRODUCTION")
    other_writer = team.admin.as_token(await issue_token(db, "wendy", Role.WRITER), "wendy")
    message = await refused(db, other_writer, CANCEL, {"id": first["id"]}, "FORBIDDEN")
    assert "walter" in message
    await refused(db, team.maya, CANCEL, {"id": first["id"]}, "FORBIDDEN")

    data = await team.writer.data(CANCEL, {"id": first["id"]})
    cancelled = data["cancelTransitionRequest"]["transitionRequest"]
    assert (cancelled["status"], cancelled["resolvedBy"]) == ("CANCELLED", "walter")
    message = await refused(db, team.maya, APPROVE, {"id": first["id"]}, "INVALID_TRANSITION")
    assert "is CANCELLED" in message
    await refused(db, team.writer, CANCEL, {"id": first["id"]}, "INVALID_TRANSITION")

    second = await request(team.writer, "fraud", 2, "STAGING")
    data = await team.admin.data(CANCEL, {"id": second["id"]})
    assert data["cancelTransitionRequest"]["transitionRequest"]["status"] == "CANCELLED"


async def test_comments_gather_on_the_request(team: Team, db: Database) -> None:
    asked = await request(team.writer, "fraud", 2, "PRODUCTION")
    await team.maya.data(COMMENT, {"id": asked["id"], "comment": "which dataset?"})
    data = await team.writer.data(COMMENT, {"id": asked["id"], "comment": "holdout-2026"})
    found = data["commentOnTransitionRequest"]["transitionRequest"]
    assert [(c["actor"], c["comment"]) for c in found["comments"]] == [
        ("maya", "which dataset?"),
        ("walter", "holdout-2026"),
    ]
    assert found["status"] == "PENDING"
    await refused(db, team.reader, COMMENT, {"id": asked["id"], "comment": "hi"}, "FORBIDDEN")
    await refused(db, team.writer, COMMENT, {"id": asked["id"], "comment": ""}, "BAD_USER_INPUT")


async def test_a_version_moved_by_another_path_makes_its_requests_stale(team: Team) -> None:
    to_production = await request(team.writer, "fraud", 2, "PRODUCTION")
    to_archive = await request(team.writer, "fraud", 2, "ARCHIVED")
    await transition(team.admin, "fraud", 2, "STAGING")
    for asked in (to_production, to_archive):
        found = await read(team.admin, asked["id"])
        assert (found["status"], found["resolvedBy"]) == ("STALE", "tester")
    # A request made from the new stage is current.
    fresh = await request(team.writer, "fraud", 2, "PRODUCTION")
    assert fresh["fromStage"] == "STAGING"
    assert (await approve(team.maya, fresh["id"]))["status"] == "COMPLETED"


async def test_writers_take_a_version_out_of_production_only_through_a_request(
    team: Team, db: Database
) -> None:
    archiving = {"input": {"modelName": "fraud", "version": 1, "stage": "ARCHIVED"}}
    message = await refused(db, team.writer, TRANSITION, archiving, "FORBIDDEN")
    assert "out of PRODUCTION" in message
    asked = await request(team.writer, "fraud", 1, "ARCHIVED", comment="retire it")
    assert (await approve(team.maya, asked["id"]))["status"] == "COMPLETED"
    assert await stages_of(team.admin, "fraud") == {1: "ARCHIVED", 2: "NONE"}


async def test_a_promotion_makes_requests_of_the_archived_version_stale(team: Team) -> None:
    # Version 1 is in PRODUCTION; a request to stage it goes stale when 2 displaces it.
    await register(team.admin, "fraud")
    demote = await request(team.writer, "fraud", 1, "STAGING")
    promote = await request(team.writer, "fraud", 2, "PRODUCTION")
    await approve(team.maya, promote["id"])
    assert (await read(team.admin, demote["id"]))["status"] == "STALE"
    assert (await read(team.admin, promote["id"]))["status"] == "COMPLETED"


async def test_a_newer_request_supersedes_older_ones_into_the_same_stage(team: Team) -> None:
    await register(team.admin, "fraud")
    older = await request(team.writer, "fraud", 2, "PRODUCTION")
    staging = await request(team.writer, "fraud", 2, "STAGING")
    newer = await request(team.writer, "fraud", 3, "PRODUCTION")
    assert (await read(team.admin, older["id"]))["status"] == "STALE"
    assert (await read(team.admin, staging["id"]))["status"] == "PENDING"
    assert (await read(team.admin, newer["id"]))["status"] == "PENDING"


async def test_deleting_the_version_makes_its_requests_stale(team: Team) -> None:
    asked = await request(team.writer, "fraud", 2, "PRODUCTION")
    await team.admin.data(
        'mutation { deleteModelVersion(input: {modelName: "fraud", version: 2}) { version } }'
    )
    found = await read(team.admin, asked["id"])
    assert found["status"] == "STALE"
    assert found["modelVersion"] is None
    assert found["version"] == 2


async def test_approving_after_the_version_moved_is_refused(team: Team, db: Database) -> None:
    asked = await request(team.writer, "fraud", 2, "PRODUCTION")
    await transition(team.admin, "fraud", 2, "STAGING")
    message = await refused(db, team.maya, APPROVE, {"id": asked["id"]}, "INVALID_TRANSITION")
    assert "is STALE" in message
    assert await stages_of(team.admin, "fraud") == {1: "PRODUCTION", 2: "STAGING"}


async def test_listing_newest_first_with_filters_and_keyset_pages(team: Team) -> None:
    await register(team.admin, "churn")
    made = [
        await request(team.writer, "fraud", 2, "STAGING"),
        await request(team.writer, "churn", 1, "STAGING"),
        await request(team.writer, "fraud", 2, "PRODUCTION"),
    ]
    await team.writer.data(CANCEL, {"id": made[0]["id"]})

    first = (await team.reader.data(LIST, {"first": 2}))["transitionRequests"]
    assert [e["node"]["id"] for e in first["edges"]] == [made[2]["id"], made[1]["id"]]
    assert (first["totalCount"], first["pageInfo"]["hasNextPage"]) == (3, True)
    after = first["pageInfo"]["endCursor"]
    rest = (await team.reader.data(LIST, {"first": 2, "after": after}))["transitionRequests"]
    assert [e["node"]["id"] for e in rest["edges"]] == [made[0]["id"]]
    assert rest["pageInfo"]["hasNextPage"] is False

    async def ids(**request_filter: object) -> list[str]:
        data = await team.reader.data(LIST, {"filter": request_filter})
        return [e["node"]["id"] for e in data["transitionRequests"]["edges"]]

    assert await ids(model="fraud") == [made[2]["id"], made[0]["id"]]
    assert await ids(status="PENDING") == [made[2]["id"], made[1]["id"]]
    assert await ids(stage="STAGING") == [made[1]["id"], made[0]["id"]]
    assert await ids(model="fraud", status="CANCELLED", stage="STAGING") == [made[0]["id"]]

    of_version = (await team.reader.data(OF_VERSION))["modelVersion"]["transitionRequests"]
    assert [r["id"] for r in of_version] == [made[2]["id"], made[0]["id"]]
    pending = await team.reader.data(OF_VERSION, {"status": "PENDING"})
    assert [r["id"] for r in pending["modelVersion"]["transitionRequests"]] == [made[2]["id"]]


NESTED = """query($first: Int!) { transitionRequests(first: $first) { edges { node {
  id requiredApprovals requiredChecks model { name } modelVersion { version stage
    transitionRequests { id } }
  approvals { actor } rejections { actor } comments { actor } checks { name } checkHistory { name }
} } } }"""


async def test_nested_request_fields_cost_the_same_for_5_or_40_requests(db: Database) -> None:
    async with serving(db, Settings(webhook_dispatcher=False), gated=True) as admin:
        team = await team_of(db, admin)
        for i in range(40):
            name = f"model-{i:02d}"
            await register(admin, name)
            asked = await request(team.writer, name, 1, "PRODUCTION")
            await team.maya.data(COMMENT, {"id": asked["id"], "comment": "why?"})
            await report(team.writer, asked["id"], "validation", "SUCCESS")
        await team.reader.data(NESTED, {"first": 1})  # token bookkeeping, not the query's
        counts = {}
        for first in (5, 40):
            with counting_statements(db) as statements:
                data = await team.reader.data(NESTED, {"first": first})
            assert len(data["transitionRequests"]["edges"]) == first
            counts[first] = len(statements)
        assert counts[5] == counts[40], counts
