"""Protected aliases: the gate in front of `models:/NAME@champion`, its requests and history."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from resolvers.alias_policies import POLICIES_MAX
from server.settings import Settings
from storage.clock import utcnow
from storage.database import Database
from storage.enums import Role
from storage.queries import alias_policies
from storage.tables import webhook_events
from tests.graphql import GraphQLClient, register
from tests.request_client import APPROVE, REQUEST, Team, approve, gated_team, read, report
from tests.snapshot import snapshot
from tests.webhook_client import create_webhook

# Events stay in the outbox: nothing delivers them while the test reads them.
SETTINGS = Settings(webhook_dispatcher=False, webhook_allow_private_networks=True)

SET_ALIAS = """mutation($input: SetAliasInput!) { setAlias(input: $input) {
  alias { alias version } previousVersion } }"""
DELETE_ALIAS = """mutation($input: DeleteAliasInput!) { deleteAlias(input: $input) {
  alias version } }"""
SET_POLICY = """mutation($input: SetAliasPolicyInput!) { setAliasPolicy(input: $input) {
  policy { alias requiredApprovals requiredChecks role source gated } } }"""
CLEAR_POLICY = """mutation($input: ClearAliasPolicyInput!) { clearAliasPolicy(input: $input) {
  policy { alias requiredApprovals role source } } }"""
POLICIES = """query($model: String) { aliasPolicies(modelName: $model) {
  alias requiredApprovals requiredChecks role source gated } }"""
ALIASES = 'query { model(name: "fraud") { aliases { alias version } } }'
HISTORY = """query($alias: String, $first: Int, $after: String) { model(name: "fraud") {
  aliasHistory(alias: $alias, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node {
      alias fromVersion toVersion cause actor comment overrideReason transitionRequestId
      createdAt
    } }
  } } }"""
DELETE_VERSION = """mutation($version: Int!) {
  deleteModelVersion(input: {modelName: "fraud", version: $version}) { version } }"""
DELETE_MODEL = 'mutation { deleteModel(input: {name: "fraud"}) { name } }'


@pytest.fixture
async def team(db: Database) -> AsyncIterator[Team]:
    """`fraud` with 3 versions, @champion on 1, protected globally (1 approval); a webhook."""
    async with gated_team(db, SETTINGS) as members:
        await create_webhook(members.admin, "http://127.0.0.1:9/hook")
        await register(members.admin, "fraud", 3)
        await set_alias(members.admin, "champion", 1)
        await members.admin.data(SET_POLICY, {"input": {"alias": "champion"}})
        yield members


async def set_alias(api: GraphQLClient, alias: str, version: int, **fields: Any) -> Any:
    payload = {"modelName": "fraud", "alias": alias, "version": version, **fields}
    return (await api.data(SET_ALIAS, {"input": payload}))["setAlias"]


async def aliases_of(api: GraphQLClient) -> dict[str, int]:
    found = (await api.data(ALIASES))["model"]["aliases"]
    return {a["alias"]: a["version"] for a in found}


async def history(api: GraphQLClient, alias: str | None = None) -> list[dict[str, Any]]:
    """The alias history, newest first."""
    data = await api.data(HISTORY, {"alias": alias, "first": 100})
    return [e["node"] for e in data["model"]["aliasHistory"]["edges"]]


async def outbox(db: Database, prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    async with db.read() as conn:
        rows = await conn.execute(
            select(webhook_events.c.type, webhook_events.c.data).order_by(webhook_events.c.id)
        )
        return [(t, d) for t, d in rows if t.startswith(prefix)]


async def refused(
    db: Database, client: GraphQLClient, query: str, variables: dict[str, Any], code: str
) -> dict[str, Any]:
    """Run a call that must fail with `code` and change nothing; return its error."""
    before = await snapshot(db)
    error = await client.error(query, variables)
    assert error["extensions"]["code"] == code, error
    assert await snapshot(db) == before
    return error


def moving(alias: str, version: int, **fields: Any) -> dict[str, Any]:
    return {"input": {"modelName": "fraud", "alias": alias, "version": version, **fields}}


def ask(alias: str, version: int, **fields: Any) -> dict[str, Any]:
    return {"input": {"modelName": "fraud", "version": version, "alias": alias, **fields}}


async def test_a_protected_alias_refuses_direct_moves_and_nothing_changes(
    team: Team, db: Database
) -> None:
    error = await refused(db, team.writer, SET_ALIAS, moving("champion", 2), "APPROVAL_REQUIRED")
    assert error["extensions"]["requiredApprovals"] == 1
    assert error["extensions"]["requiredChecks"] == []
    assert "requestTransition" in error["message"]
    for client in (team.maya, team.admin):
        await refused(db, client, SET_ALIAS, moving("champion", 2), "APPROVAL_REQUIRED")
        deleting = {"input": {"modelName": "fraud", "alias": "champion"}}
        await refused(db, client, DELETE_ALIAS, deleting, "APPROVAL_REQUIRED")
    forced = moving("champion", 2, force=True, reason="hotfix")
    await refused(db, team.maya, SET_ALIAS, forced, "FORBIDDEN")
    assert await aliases_of(team.admin) == {"champion": 1}
    assert [m["cause"] for m in await history(team.admin)] == ["SET"]  # the setup's move


async def test_a_request_approved_by_another_maintainer_moves_the_alias(
    team: Team, db: Database
) -> None:
    data = await team.maya.data(REQUEST, ask("champion", 2, comment="auc +2%"))
    asked = data["requestTransition"]["transitionRequest"]
    assert (asked["status"], asked["fromStage"], asked["toStage"]) == ("PENDING", None, None)
    assert (asked["requiredApprovals"], asked["modelVersion"]) == (
        1,
        {"version": 2, "stage": "NONE"},
    )
    found = await team.reader.data(
        "query($id: ID!) { transitionRequest(id: $id) { alias aliasFromVersion deleteAlias } }",
        {"id": asked["id"]},
    )
    assert found["transitionRequest"] == {
        "alias": "champion",
        "aliasFromVersion": 1,
        "deleteAlias": False,
    }
    error = await refused(db, team.maya, APPROVE, {"id": asked["id"]}, "FORBIDDEN")
    assert "four eyes" in error["message"]

    done = await approve(team.max, asked["id"], "ok")
    assert (done["status"], done["resolvedBy"]) == ("COMPLETED", "max")
    assert await aliases_of(team.admin) == {"champion": 2}
    latest = (await history(team.admin))[0]
    assert {k: v for k, v in latest.items() if k != "createdAt"} == {
        "alias": "champion",
        "fromVersion": 1,
        "toVersion": 2,
        "cause": "APPROVAL",
        "actor": "max",
        "comment": "auc +2%",
        "overrideReason": None,
        "transitionRequestId": asked["id"],
    }
    kinds = [(t, d.get("alias")) for t, d in await outbox(db) if t != "model_version.created"]
    assert kinds[-4:] == [
        ("transition_request.created", "champion"),
        ("transition_request.approved", "champion"),
        ("alias.set", "champion"),
        ("transition_request.completed", "champion"),
    ]
    (_, moved), *_ = [e for e in await outbox(db, "alias.set") if e[1]["cause"] == "APPROVAL"]
    assert (moved["version"], moved["previousVersion"], moved["actor"]) == (2, 1, "max")
    assert moved["overrideReason"] is None
    created = (await outbox(db, "transition_request.created"))[-1][1]
    assert created["transitionRequest"]["alias"] == "champion"
    assert created["transitionRequest"]["toStage"] is None


async def test_an_admin_forces_with_a_reason_recorded_and_announced(
    team: Team, db: Database
) -> None:
    no_reason = await refused(
        db, team.admin, SET_ALIAS, moving("champion", 3, force=True), "BAD_USER_INPUT"
    )
    assert no_reason["extensions"]["field"] == "reason"
    moved = await set_alias(team.admin, "champion", 3, force=True, reason="incident 42")
    assert moved == {"alias": {"alias": "champion", "version": 3}, "previousVersion": 1}
    latest = (await history(team.admin))[0]
    assert (latest["cause"], latest["overrideReason"], latest["fromVersion"]) == (
        "FORCE",
        "incident 42",
        1,
    )
    _, event = (await outbox(db, "alias.set"))[-1]
    assert (event["cause"], event["overrideReason"], event["actor"]) == (
        "FORCE",
        "incident 42",
        team.admin.actor,
    )
    deleting = {"modelName": "fraud", "alias": "champion", "force": True, "reason": "retired"}
    await team.admin.data(DELETE_ALIAS, {"input": deleting})
    assert await aliases_of(team.admin) == {}
    latest = (await history(team.admin))[0]
    assert (latest["cause"], latest["fromVersion"], latest["toVersion"]) == ("FORCE", 3, None)
    _, event = (await outbox(db, "alias.deleted"))[-1]
    assert (event["version"], event["previousVersion"], event["cause"]) == (3, 3, "FORCE")


async def test_deleting_a_protected_alias_goes_through_a_request(team: Team, db: Database) -> None:
    await refused(
        db, team.writer, REQUEST, ask("champion", 2, deleteAlias=True), "INVALID_TRANSITION"
    )
    await refused(db, team.writer, REQUEST, ask("nope", 1, deleteAlias=True), "NOT_FOUND")
    await refused(db, team.writer, REQUEST, ask("champion", 1), "INVALID_TRANSITION")
    both = {"input": {"modelName": "fraud", "version": 1, "alias": "champion", "stage": "STAGING"}}
    await refused(db, team.writer, REQUEST, both, "BAD_USER_INPUT")
    neither = {"input": {"modelName": "fraud", "version": 1}}
    await refused(db, team.writer, REQUEST, neither, "BAD_USER_INPUT")

    data = await team.writer.data(REQUEST, ask("champion", 1, deleteAlias=True))
    asked = data["requestTransition"]["transitionRequest"]
    assert (await approve(team.max, asked["id"]))["status"] == "COMPLETED"
    assert await aliases_of(team.admin) == {}
    latest = (await history(team.admin))[0]
    assert (latest["cause"], latest["fromVersion"], latest["toVersion"], latest["actor"]) == (
        "APPROVAL",
        1,
        None,
        "max",
    )
    _, event = (await outbox(db, "alias.deleted"))[-1]
    assert (event["version"], event["cause"]) == (1, "APPROVAL")


async def test_unprotected_aliases_move_as_before_and_leave_history(
    team: Team, db: Database
) -> None:
    moved = await set_alias(team.writer, "challenger", 2, comment="shadow traffic")
    assert moved == {"alias": {"alias": "challenger", "version": 2}, "previousVersion": None}
    assert (await set_alias(team.writer, "challenger", 3))["previousVersion"] == 2
    gone = await team.writer.data(
        DELETE_ALIAS, {"input": {"modelName": "fraud", "alias": "challenger"}}
    )
    assert gone["deleteAlias"] == {"alias": "challenger", "version": 3}
    moves = await history(team.admin, "challenger")
    assert [(m["cause"], m["fromVersion"], m["toVersion"], m["actor"]) for m in moves] == [
        ("DELETE", 3, None, "walter"),
        ("SET", 2, 3, "walter"),
        ("SET", None, 2, "walter"),
    ]
    assert moves[-1]["comment"] == "shadow traffic"
    events = [d for _, d in await outbox(db, "alias.") if d["alias"] == "challenger"]
    assert [(e["cause"], e["version"], e["previousVersion"]) for e in events] == [
        ("SET", 2, None),
        ("SET", 3, 2),
        ("DELETE", 3, 3),
    ]
    assert {e["actor"] for e in events} == {"walter"}


async def test_requests_go_stale_when_the_version_goes_or_the_alias_moves(
    team: Team, db: Database
) -> None:
    first = (await team.writer.data(REQUEST, ask("champion", 2)))["requestTransition"]
    await team.admin.data(DELETE_VERSION, {"version": 2})
    found = await read(team.admin, first["transitionRequest"]["id"])
    assert (found["status"], found["modelVersion"]) == ("STALE", None)

    second = (await team.writer.data(REQUEST, ask("champion", 3)))["requestTransition"]
    second_id = second["transitionRequest"]["id"]
    newer = await team.writer.data(REQUEST, ask("champion", 3, comment="again"))
    assert (await read(team.admin, second_id))["status"] == "STALE"  # superseded
    newer_id = newer["requestTransition"]["transitionRequest"]["id"]
    await set_alias(team.admin, "champion", 3, force=True, reason="outage")
    assert (await read(team.admin, newer_id))["status"] == "STALE"  # the alias moved
    error = await refused(db, team.maya, APPROVE, {"id": newer_id}, "INVALID_TRANSITION")
    assert "STALE" in error["message"]


async def test_deleting_what_holds_a_protected_alias_is_refused(team: Team, db: Database) -> None:
    error = await refused(db, team.maya, DELETE_VERSION, {"version": 1}, "APPROVAL_REQUIRED")
    assert error["extensions"]["alias"] == "champion"
    await refused(db, team.admin, DELETE_MODEL, {}, "APPROVAL_REQUIRED")
    # An unprotected alias goes with its version, and the history says so.
    await set_alias(team.writer, "challenger", 3)
    await team.maya.data(DELETE_VERSION, {"version": 3})
    latest = (await history(team.admin))[0]
    assert (latest["alias"], latest["cause"], latest["toVersion"]) == (
        "challenger",
        "VERSION_DELETED",
        None,
    )
    _, event = (await outbox(db, "alias.deleted"))[-1]
    assert (event["alias"], event["cause"], event["actor"]) == (
        "challenger",
        "VERSION_DELETED",
        "maya",
    )


async def test_policies_global_and_per_model_with_a_role(team: Team, db: Database) -> None:
    await register(team.admin, "churn")
    assert (await team.reader.data(POLICIES))["aliasPolicies"] == [
        {
            "alias": "champion",
            "requiredApprovals": 1,
            "requiredChecks": [],
            "role": "MAINTAINER",
            "source": "GLOBAL",
            "gated": True,
        }
    ]
    override = {"modelName": "fraud", "alias": "champion", "requiredApprovals": 0, "role": "ADMIN"}
    policy = (await team.admin.data(SET_POLICY, {"input": override}))["setAliasPolicy"]["policy"]
    assert (policy["source"], policy["gated"], policy["role"]) == ("MODEL", False, "ADMIN")
    # No approvals asked, but only admins move it directly.
    await refused(db, team.maya, SET_ALIAS, moving("champion", 2), "FORBIDDEN")
    assert (await set_alias(team.admin, "champion", 2))["previousVersion"] == 1
    assert (await history(team.admin))[0]["cause"] == "SET"
    churn = (await team.reader.data(POLICIES, {"model": "churn"}))["aliasPolicies"]
    assert [(p["alias"], p["source"]) for p in churn] == [("champion", "GLOBAL")]

    cleared = await team.admin.data(
        CLEAR_POLICY, {"input": {"modelName": "fraud", "alias": "champion"}}
    )
    assert cleared["clearAliasPolicy"]["policy"]["source"] == "GLOBAL"
    cleared = await team.admin.data(CLEAR_POLICY, {"input": {"alias": "champion"}})
    assert cleared["clearAliasPolicy"]["policy"] is None
    await refused(db, team.admin, CLEAR_POLICY, {"input": {"alias": "champion"}}, "NOT_FOUND")
    assert (await set_alias(team.writer, "champion", 3))["previousVersion"] == 2  # unprotected

    for bad, field in (
        ({"alias": "latest"}, "alias"),
        ({"alias": "x", "role": "READER"}, "role"),
        ({"alias": "x", "requiredApprovals": 11}, "requiredApprovals"),
        ({"alias": "x", "requiredChecks": ["a b"]}, "requiredChecks"),
    ):
        error = await refused(db, team.admin, SET_POLICY, {"input": bad}, "BAD_USER_INPUT")
        assert error["extensions"]["field"] == field
    maintainer_policy = {"input": {"alias": "x"}}
    await refused(db, team.maya, SET_POLICY, maintainer_policy, "FORBIDDEN")


async def test_an_admin_role_policy_is_decided_by_admins_after_its_checks(
    team: Team, db: Database
) -> None:
    strict = {"alias": "champion", "requiredChecks": ["validation"], "role": "ADMIN"}
    await team.admin.data(SET_POLICY, {"input": strict})
    data = await team.writer.data(REQUEST, ask("champion", 2))
    asked = data["requestTransition"]["transitionRequest"]
    assert asked["requiredChecks"] == ["validation"]
    error = await refused(db, team.maya, APPROVE, {"id": asked["id"]}, "FORBIDDEN")
    assert "admin" in error["message"]
    assert (await approve(team.admin, asked["id"]))["status"] == "PENDING"  # the check is missing
    reported = await report(team.writer, asked["id"], "validation", "SUCCESS")
    assert reported["transitionRequest"]["status"] == "COMPLETED"
    assert await aliases_of(team.admin) == {"champion": 2}
    assert (await history(team.admin))[0]["actor"] == "walter"  # whose report let it through


async def test_alias_history_pages_newest_first(team: Team) -> None:
    for version in (2, 3, 1):
        await set_alias(team.writer, "challenger", version)
    data = await team.reader.data(HISTORY, {"first": 2})
    page = data["model"]["aliasHistory"]
    assert page["totalCount"] == 4
    assert [(e["node"]["alias"], e["node"]["toVersion"]) for e in page["edges"]] == [
        ("challenger", 1),
        ("challenger", 3),
    ]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await team.reader.data(HISTORY, {"first": 2, "after": page["pageInfo"]["endCursor"]})
    tail = rest["model"]["aliasHistory"]
    assert [(e["node"]["alias"], e["node"]["toVersion"]) for e in tail["edges"]] == [
        ("challenger", 2),
        ("champion", 1),
    ]
    assert tail["pageInfo"]["hasNextPage"] is False
    only = await team.reader.data(HISTORY, {"alias": "champion"})
    assert only["model"]["aliasHistory"]["totalCount"] == 1


async def test_alias_policies_are_bounded_per_scope(team: Team, db: Database) -> None:
    async with db.transaction() as conn:
        for i in range(POLICIES_MAX - 1):  # `champion` is the first
            await alias_policies.set_alias_policy(
                conn,
                model_id=None,
                alias=f"a{i}",
                required_approvals=1,
                required_checks=[],
                role=Role.MAINTAINER,
                actor="test",
                now=utcnow(),
            )
    error = await refused(
        db, team.admin, SET_POLICY, {"input": {"alias": "one-more"}}, "BAD_USER_INPUT"
    )
    assert error["extensions"]["limit"] == POLICIES_MAX
    # Replacing one is no new policy; a model has its own room.
    await team.admin.data(SET_POLICY, {"input": {"alias": "champion", "requiredApprovals": 2}})
    await team.admin.data(SET_POLICY, {"input": {"alias": "one-more", "modelName": "fraud"}})
