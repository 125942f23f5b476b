"""Approvals execute transitions: in the approving transaction, once, with a full trail."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from storage.database import Database, create_database
from storage.tables import model_versions, stage_history, transition_requests
from tests.conftest import FAST_WEBHOOKS, serving
from tests.graphql import register, transition
from tests.receiver import Receiver
from tests.request_client import (
    APPROVE,
    Team,
    approve,
    fraud_in_production,
    gated_team,
    history_of,
    read,
    report,
    request,
    set_policy,
    stages_of,
    team_of,
)
from tests.snapshot import snapshot
from tests.webhook_client import create_webhook


@pytest.fixture
async def team(db: Database) -> AsyncIterator[Team]:
    async with gated_team(db) as members:
        yield members


async def test_an_approval_executes_the_transition(team: Team) -> None:
    await fraud_in_production(team)
    asked = await request(team.writer, "fraud", 2, "PRODUCTION", comment="better AUC")
    assert asked["status"] == "PENDING"
    assert asked["fromStage"] == "NONE"
    assert asked["requiredApprovals"] == 1

    done = await approve(team.maya, asked["id"], "looks right")
    assert done["status"] == "COMPLETED"
    assert done["resolvedBy"] == "maya"
    assert done["resolvedAt"] is not None
    assert done["approvals"][0]["actor"] == "maya"
    assert done["approvals"][0]["comment"] == "looks right"
    assert done["modelVersion"] == {"version": 2, "stage": "PRODUCTION"}
    assert await stages_of(team.admin, "fraud") == {1: "ARCHIVED", 2: "PRODUCTION"}

    *_, archived, promoted = await history_of(team.admin, "fraud")
    assert archived["version"] == 1
    assert (archived["toStage"], archived["cause"]) == ("ARCHIVED", "APPROVAL")
    assert promoted["version"] == 2
    assert (promoted["fromStage"], promoted["toStage"]) == ("NONE", "PRODUCTION")
    assert (promoted["cause"], promoted["actor"], promoted["comment"]) == (
        "APPROVAL",
        "maya",
        "better AUC",
    )


async def test_two_required_approvals_need_two_distinct_maintainers(
    team: Team, db: Database
) -> None:
    await fraud_in_production(team)
    await set_policy(team.admin, "PRODUCTION", 2, modelName="fraud")
    asked = await request(team.writer, "fraud", 2, "PRODUCTION")
    assert asked["requiredApprovals"] == 2

    first = await approve(team.maya, asked["id"])
    assert first["status"] == "PENDING"
    assert await stages_of(team.admin, "fraud") == {1: "PRODUCTION", 2: "NONE"}

    before = await snapshot(db)
    error = await team.maya.error(APPROVE, {"id": asked["id"]})
    assert error["extensions"]["code"] == "CONFLICT"
    assert "already approved" in error["message"]
    assert await snapshot(db) == before

    second = await approve(team.max, asked["id"])
    assert second["status"] == "COMPLETED"
    assert [a["actor"] for a in second["approvals"]] == ["maya", "max"]
    assert await stages_of(team.admin, "fraud") == {1: "ARCHIVED", 2: "PRODUCTION"}


async def test_archive_existing_is_passed_on_to_the_transition(team: Team) -> None:
    await register(team.admin, "fraud", 3)
    await transition(team.admin, "fraud", 1, "STAGING")
    await transition(team.admin, "fraud", 2, "STAGING")
    await set_policy(team.admin, "STAGING", 1)
    asked = await request(team.writer, "fraud", 3, "STAGING", archiveExisting=True)
    assert asked["archiveExisting"] is True
    await approve(team.maya, asked["id"])
    assert await stages_of(team.admin, "fraud") == {1: "ARCHIVED", 2: "ARCHIVED", 3: "STAGING"}


@pytest.fixture
async def replicas(database_url: str) -> AsyncIterator[list[Team]]:
    """Two app instances with engines of their own, so approvals contend in the database."""
    async with AsyncExitStack() as stack:
        teams: list[Team] = []
        for _ in range(2):
            database = create_database(database_url)
            stack.push_async_callback(database.dispose)
            admin = await stack.enter_async_context(serving(database, gated=True))
            if not teams:
                teams.append(await team_of(database, admin))
            else:
                # The same people (tokens), talking to the other instance.
                first = teams[0]
                people = (first.admin, first.writer, first.maya, first.max, first.reader)
                teams.append(Team(*(admin.as_token(p.token, p.actor) for p in people)))
        yield teams


async def test_racing_approvals_complete_the_request_once(
    replicas: list[Team], db: Database
) -> None:
    first, second = replicas
    await fraud_in_production(first)
    for round_ in range(3):
        version = round_ + 2
        if round_:
            await register(first.admin, "fraud")
        asked = await request(first.writer, "fraud", version, "PRODUCTION")
        answers = await asyncio.gather(
            first.maya.post(APPROVE, {"id": asked["id"]}),
            second.max.post(APPROVE, {"id": asked["id"]}),
        )
        bodies = [a.json() for a in answers]
        succeeded = [b for b in bodies if "errors" not in b]
        refused = [b for b in bodies if "errors" in b]
        # The loser either came too late (COMPLETED) or approved first without completing.
        assert len(succeeded) >= 1, bodies
        completed = [
            b
            for b in succeeded
            if b["data"]["approveTransitionRequest"]["transitionRequest"]["status"] == "COMPLETED"
        ]
        assert len(completed) == 1, bodies
        for body in refused:
            assert body["errors"][0]["extensions"]["code"] == "INVALID_TRANSITION", body

    async with db.read() as conn:
        stages = dict(
            (await conn.execute(select(model_versions.c.version, model_versions.c.stage))).all()
        )
        rows = (await conn.execute(select(stage_history).order_by(stage_history.c.id))).all()
        statuses = (await conn.execute(select(transition_requests.c.status))).scalars().all()
    assert stages == {1: "ARCHIVED", 2: "ARCHIVED", 3: "ARCHIVED", 4: "PRODUCTION"}
    assert statuses == ["COMPLETED"] * 3
    promoted = [r.version for r in rows if r.to_stage == "PRODUCTION"]
    assert promoted == [1, 2, 3, 4]
    archived = [r.version for r in rows if r.to_stage == "ARCHIVED"]
    assert archived == [1, 2, 3]


def _verified(secret: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    verified: dict[str, Any] = Webhook(secret).verify(
        body, {k: v for k, v in headers.items() if "webhook" in k}
    )
    return verified


async def test_the_whole_flow_over_http_with_ci_as_a_webhook_receiver(
    db: Database, receiver: Receiver
) -> None:
    async with gated_team(db, FAST_WEBHOOKS) as team:
        await fraud_in_production(team)
        await set_policy(team.admin, "PRODUCTION", 1, ["validation"])
        url = receiver.url("/ci")
        _, secret = await create_webhook(
            team.admin,
            url,
            ["transition_request.*", "model_version.stage_changed"],
            modelNames=["fraud"],
        )
        ci = team.writer

        asked = await request(team.writer, "fraud", 2, "PRODUCTION", comment="ship v2")
        assert asked["requiredChecks"] == ["validation"]

        # CI gets the request from the event alone, and reports on it.
        received = await receiver.wait_for(lambda got: len(got) >= 1)
        created = _verified(secret, received[0].body, received[0].headers)
        assert created["type"] == "transition_request.created"
        sent = created["data"]["transitionRequest"]
        assert sent["id"] == asked["id"]
        assert (sent["version"], sent["fromStage"], sent["toStage"]) == (2, "NONE", "PRODUCTION")
        assert (sent["status"], sent["requestedBy"], sent["comment"]) == (
            "PENDING",
            "walter",
            "ship v2",
        )
        assert created["data"]["model"]["name"] == "fraud"
        assert created["data"]["modelVersion"]["version"] == 2
        assert created["data"]["actor"] == "walter"
        reported = await report(
            ci,
            sent["id"],
            "validation",
            "SUCCESS",
            summary="auc 0.93 >= 0.9",
            detailsUrl="https://ci.example.com/runs/7",
        )
        assert reported["transitionRequest"]["status"] == "PENDING"

        done = await approve(team.maya, sent["id"], "go")
        assert done["status"] == "COMPLETED"
        assert await stages_of(team.admin, "fraud") == {1: "ARCHIVED", 2: "PRODUCTION"}

        def types(got: list[Any]) -> list[str]:
            return [orjson.loads(r.body)["type"] for r in got]

        received = await receiver.wait_for(lambda got: "transition_request.completed" in types(got))
        bodies = [_verified(secret, r.body, r.headers) for r in received]
        assert [b["type"] for b in bodies] == [
            "transition_request.created",
            "transition_request.approved",
            "model_version.stage_changed",
            "model_version.stage_changed",
            "transition_request.completed",
        ]
        approved = bodies[1]["data"]
        assert approved["review"]["actor"] == "maya"
        assert approved["review"]["comment"] == "go"
        moves = {(b["data"]["modelVersion"]["version"], b["data"]["cause"]) for b in bodies[2:4]}
        assert moves == {(1, "APPROVAL"), (2, "APPROVAL")}
        completed = bodies[4]["data"]
        assert completed["transitionRequest"]["status"] == "COMPLETED"
        assert completed["transitionRequest"]["resolvedBy"] == "maya"
        assert completed["modelVersion"]["stage"] == "PRODUCTION"
        sequences = [b["data"]["sequence"] for b in bodies]
        assert sequences == sorted(sequences)
        assert (await read(team.admin, sent["id"]))["checks"][0]["reportedBy"] == "walter"
