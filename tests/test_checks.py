"""CI check reports: the latest per name wins, failures block, the last SUCCESS executes."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from storage.database import Database
from tests.request_client import (
    APPROVE,
    REPORT,
    Team,
    approve,
    fraud_in_production,
    gated_team,
    read,
    report,
    request,
    set_policy,
    stages_of,
)
from tests.snapshot import snapshot


@pytest.fixture
async def team(db: Database) -> AsyncIterator[Team]:
    async with gated_team(db) as members:
        await fraud_in_production(members)
        await set_policy(members.admin, "PRODUCTION", 1, ["validation", "bias-audit"])
        yield members


async def test_the_latest_report_of_each_check_counts(team: Team) -> None:
    asked = await request(team.writer, "fraud", 2, "PRODUCTION")
    assert asked["requiredChecks"] == ["validation", "bias-audit"]
    await report(team.writer, asked["id"], "validation", "PENDING")
    await report(team.writer, asked["id"], "validation", "FAILURE", summary="auc 0.71")
    reported = await report(
        team.writer,
        asked["id"],
        "validation",
        "SUCCESS",
        summary="auc 0.93",
        detailsUrl="https://ci.example.com/runs/8",
    )
    assert reported["check"] == {
        "name": "validation",
        "status": "SUCCESS",
        "summary": "auc 0.93",
        "detailsUrl": "https://ci.example.com/runs/8",
        "reportedBy": "walter",
    }
    await report(team.writer, asked["id"], "lint", "SUCCESS")
    found = await read(team.reader, asked["id"])
    assert [(c["name"], c["status"]) for c in found["checks"]] == [
        ("lint", "SUCCESS"),
        ("validation", "SUCCESS"),
    ]
    assert [c["status"] for c in found["checkHistory"]] == [
        "PENDING",
        "FAILURE",
        "SUCCESS",
        "SUCCESS",
    ]
    assert found["status"] == "PENDING"


async def test_bad_reports_are_refused_and_change_nothing(team: Team, db: Database) -> None:
    asked = await request(team.writer, "fraud", 2, "PRODUCTION")

    async def refused(code: str, client: Any = None, **fields: Any) -> None:
        payload = {"requestId": asked["id"], "name": "validation", "status": "SUCCESS", **fields}
        before = await snapshot(db)
        error = await (client or team.writer).error(REPORT, {"input": payload})
        assert error["extensions"]["code"] == code, error
        assert await snapshot(db) == before

    await refused("BAD_USER_INPUT", detailsUrl="javascript:alert(1)")
    await refused("BAD_USER_INPUT", detailsUrl="ftp://ci.example.com/x")
    await refused("BAD_USER_INPUT", name="has space")
    await refused("BAD_USER_INPUT", requestId="nope")
    await refused("NOT_FOUND", requestId="999")
    await refused("FORBIDDEN", client=team.reader)


async def test_a_failed_check_blocks_approval_until_it_passes(team: Team, db: Database) -> None:
    asked = await request(team.writer, "fraud", 2, "PRODUCTION")
    await report(team.writer, asked["id"], "validation", "FAILURE")
    await report(team.writer, asked["id"], "bias-audit", "FAILURE")

    before = await snapshot(db)
    error = await team.maya.error(APPROVE, {"id": asked["id"]})
    assert error["extensions"]["code"] == "APPROVAL_REQUIRED"
    assert error["extensions"]["failedChecks"] == ["validation", "bias-audit"]
    assert "validation, bias-audit" in error["message"]
    assert await snapshot(db) == before

    await report(team.writer, asked["id"], "validation", "SUCCESS")
    await report(team.writer, asked["id"], "bias-audit", "SUCCESS")
    done = await approve(team.maya, asked["id"])
    assert done["status"] == "COMPLETED"
    assert await stages_of(team.admin, "fraud") == {1: "ARCHIVED", 2: "PRODUCTION"}


async def test_approval_waits_for_the_checks_and_the_last_success_executes(team: Team) -> None:
    asked = await request(team.writer, "fraud", 2, "PRODUCTION", comment="retrained")
    await report(team.writer, asked["id"], "validation", "SUCCESS")
    approved = await approve(team.maya, asked["id"])
    assert approved["status"] == "PENDING"
    assert await stages_of(team.admin, "fraud") == {1: "PRODUCTION", 2: "NONE"}

    reported = await report(team.writer, asked["id"], "bias-audit", "SUCCESS")
    done = reported["transitionRequest"]
    assert (done["status"], done["resolvedBy"]) == ("COMPLETED", "walter")
    assert done["modelVersion"] == {"version": 2, "stage": "PRODUCTION"}
    assert await stages_of(team.admin, "fraud") == {1: "ARCHIVED", 2: "PRODUCTION"}


async def test_reports_on_resolved_requests_are_refused(team: Team, db: Database) -> None:
    asked = await request(team.writer, "fraud", 2, "ARCHIVED")
    await approve(team.maya, asked["id"])
    payload = {"requestId": asked["id"], "name": "validation", "status": "SUCCESS"}
    before = await snapshot(db)
    error = await team.writer.error(REPORT, {"input": payload})
    assert error["extensions"]["code"] == "INVALID_TRANSITION"
    assert "is COMPLETED" in error["message"]
    assert await snapshot(db) == before
