"""Stage policies: the gate in front of a stage, overrides, and admins forcing it."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from storage.database import Database
from storage.enums import Role
from tests.conftest import FAST_WEBHOOKS, issue_token, serving
from tests.graphql import TRANSITION, GraphQLClient, register, transition
from tests.receiver import Receiver
from tests.snapshot import snapshot
from tests.webhook_client import create_webhook, events

SET_POLICY = """mutation($input: SetStagePolicyInput!) { setStagePolicy(input: $input) {
  policy { stage requiredApprovals requiredChecks source gated } } }"""
CLEAR_POLICY = """mutation($input: ClearStagePolicyInput!) { clearStagePolicy(input: $input) {
  policy { stage requiredApprovals source } } }"""
POLICIES = """query($model: String) { stagePolicies(modelName: $model) {
  stage requiredApprovals requiredChecks source gated } }"""
HISTORY = """query($name: String!) { model(name: $name) { productionVersion { version }
  stageHistory(first: 5) { edges { node { version toStage cause actor comment overrideReason } } }
} }"""
ROLLBACK = """mutation($input: RollbackInput!) { rollback(input: $input) {
  restored { version } } }"""


@pytest.fixture
async def gated(db: Database) -> AsyncIterator[GraphQLClient]:
    """An admin client on a registry with the built-in policies (PRODUCTION: 1 approval)."""
    async with serving(db, FAST_WEBHOOKS, gated=True) as client:
        yield client


def promote(model: str, version: int, **extra: Any) -> dict[str, Any]:
    return {"input": {"modelName": model, "version": version, "stage": "PRODUCTION", **extra}}


async def test_by_default_production_needs_an_approval(gated: GraphQLClient) -> None:
    policies = (await gated.data(POLICIES))["stagePolicies"]
    assert {p["stage"]: (p["requiredApprovals"], p["source"], p["gated"]) for p in policies} == {
        "NONE": (0, "DEFAULT", False),
        "STAGING": (0, "DEFAULT", False),
        "PRODUCTION": (1, "DEFAULT", True),
        "ARCHIVED": (0, "DEFAULT", False),
    }
    await register(gated, "fraud")
    await transition(gated, "fraud", 1, "STAGING")  # not gated
    error = await gated.error(TRANSITION, promote("fraud", 1))
    assert error["extensions"]["code"] == "APPROVAL_REQUIRED"
    assert error["extensions"]["requiredApprovals"] == 1
    assert "1 approval" in error["message"]
    assert "requestTransition" in error["message"]


async def test_a_refused_transition_changes_nothing(gated: GraphQLClient, db: Database) -> None:
    await register(gated, "fraud")
    before = await snapshot(db)
    assert await gated.code(TRANSITION, promote("fraud", 1)) == "APPROVAL_REQUIRED"
    assert await snapshot(db) == before


async def test_model_override_beats_the_global_policy(gated: GraphQLClient) -> None:
    await register(gated, "fraud")
    await register(gated, "churn")
    glob = {"stage": "STAGING", "requiredChecks": ["validation"]}
    policy = (await gated.data(SET_POLICY, {"input": glob}))["setStagePolicy"]["policy"]
    assert policy == {
        "stage": "STAGING",
        "requiredApprovals": 0,
        "requiredChecks": ["validation"],
        "source": "GLOBAL",
        "gated": True,
    }
    override = {"stage": "STAGING", "modelName": "churn", "requiredApprovals": 0}
    data = await gated.data(SET_POLICY, {"input": override})
    assert data["setStagePolicy"]["policy"]["source"] == "MODEL"

    error = await gated.error(
        TRANSITION, {"input": {"modelName": "fraud", "version": 1, "stage": "STAGING"}}
    )
    assert error["extensions"]["code"] == "APPROVAL_REQUIRED"
    assert error["extensions"]["requiredChecks"] == ["validation"]
    await transition(gated, "churn", 1, "STAGING")  # its own policy asks for nothing

    churn = (await gated.data(POLICIES, {"model": "churn"}))["stagePolicies"]
    assert {p["stage"]: p["source"] for p in churn}["STAGING"] == "MODEL"
    cleared = await gated.data(CLEAR_POLICY, {"input": {"modelName": "churn", "stage": "STAGING"}})
    assert cleared["clearStagePolicy"]["policy"]["source"] == "GLOBAL"
    again = {"input": {"modelName": "churn", "stage": "STAGING"}}
    assert await gated.code(CLEAR_POLICY, again) == "NOT_FOUND"


async def test_opening_the_gate_lets_maintainers_promote(gated: GraphQLClient) -> None:
    await register(gated, "fraud")
    await gated.data(SET_POLICY, {"input": {"stage": "PRODUCTION", "requiredApprovals": 0}})
    assert (await transition(gated, "fraud", 1, "PRODUCTION"))["modelVersion"]["stage"] == (
        "PRODUCTION"
    )


@pytest.mark.parametrize(
    ("policy", "field"),
    [
        ({"stage": "PRODUCTION", "requiredApprovals": -1}, "requiredApprovals"),
        ({"stage": "PRODUCTION", "requiredApprovals": 11}, "requiredApprovals"),
        ({"stage": "PRODUCTION", "requiredChecks": ["has space"]}, "requiredChecks"),
        ({"stage": "PRODUCTION", "requiredChecks": ["a", "a"]}, "requiredChecks"),
    ],
)
async def test_bad_policies_are_refused(
    gated: GraphQLClient, db: Database, policy: dict[str, Any], field: str
) -> None:
    before = await snapshot(db)
    error = await gated.error(SET_POLICY, {"input": policy})
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert await snapshot(db) == before


async def test_policy_of_an_unknown_model_is_not_found(gated: GraphQLClient) -> None:
    policy = {"stage": "PRODUCTION", "modelName": "nope"}
    assert await gated.code(SET_POLICY, {"input": policy}) == "NOT_FOUND"


async def test_only_admins_set_policies(gated: GraphQLClient, db: Database) -> None:
    maintainer = gated.as_token(await issue_token(db, "mia", Role.MAINTAINER), "mia")
    before = await snapshot(db)
    policy = {"input": {"stage": "PRODUCTION", "requiredApprovals": 0}}
    assert await maintainer.code(SET_POLICY, policy) == "FORBIDDEN"
    assert await snapshot(db) == before
    assert len((await maintainer.data(POLICIES))["stagePolicies"]) == 4  # readable by all


async def test_admins_force_with_a_reason_recorded_and_announced(
    gated: GraphQLClient, db: Database, receiver: Receiver
) -> None:
    await create_webhook(gated, receiver.url(), ["model_version.stage_changed"])
    await register(gated, "fraud")
    before = await snapshot(db)
    no_reason = await gated.error(TRANSITION, promote("fraud", 1, force=True))
    assert no_reason["extensions"] == {"code": "BAD_USER_INPUT", "field": "reason"}
    maintainer = gated.as_token(await issue_token(db, "mia", Role.MAINTAINER), "mia")
    forced = promote("fraud", 1, force=True, reason="incident 42")
    assert await maintainer.code(TRANSITION, forced) == "FORBIDDEN"
    assert await snapshot(db) == before

    await gated.data(TRANSITION, forced)
    model = (await gated.data(HISTORY, {"name": "fraud"}))["model"]
    assert model["productionVersion"] == {"version": 1}
    assert model["stageHistory"]["edges"][0]["node"] == {
        "version": 1,
        "toStage": "PRODUCTION",
        "cause": "TRANSITION",
        "actor": gated.actor,
        "comment": None,
        "overrideReason": "incident 42",
    }
    await receiver.wait_for(lambda received: len(received) == 1)
    (event,) = events(receiver.received)
    assert event["data"]["overrideReason"] == "incident 42"
    assert event["data"]["toStage"] == "PRODUCTION"


async def test_force_past_an_open_gate_is_not_an_override(gated: GraphQLClient) -> None:
    await register(gated, "fraud")
    await transition(gated, "fraud", 1, "STAGING", force=True, reason="no gate here")
    history = (await gated.data(HISTORY, {"name": "fraud"}))["model"]["stageHistory"]
    assert history["edges"][0]["node"]["overrideReason"] is None


async def test_rollback_goes_back_only_to_versions_that_were_in_production(
    gated: GraphQLClient, db: Database
) -> None:
    await register(gated, "fraud", 3)
    for version in (1, 2):
        await gated.data(TRANSITION, promote("fraud", version, force=True, reason="setup"))
    assert (await gated.data(ROLLBACK, {"input": {"modelName": "fraud"}}))["rollback"] == {
        "restored": {"version": 1}
    }
    before = await snapshot(db)
    never = {"input": {"modelName": "fraud", "toVersion": 3}}
    error = await gated.error(ROLLBACK, never)
    assert error["extensions"]["code"] == "APPROVAL_REQUIRED"
    assert "never in PRODUCTION" in error["message"]
    assert await snapshot(db) == before
    back_to_2 = {"input": {"modelName": "fraud", "toVersion": 2}}
    assert (await gated.data(ROLLBACK, back_to_2))["rollback"] == {"restored": {"version": 2}}
