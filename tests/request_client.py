"""GraphQL helpers for transition-request tests, and the team that plays them out."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from server.settings import Settings
from storage.database import Database
from storage.enums import Role
from tests.conftest import issue_token, serving
from tests.graphql import GraphQLClient, register, transition

REQUEST_FIELDS = """
id version fromStage toStage archiveExisting status comment requestedBy
createdAt updatedAt resolvedAt resolvedBy requiredApprovals requiredChecks
model { name } modelVersion { version stage }
approvals { actor comment createdAt } rejections { actor comment }
comments { actor comment createdAt }
checks { name status summary detailsUrl reportedBy createdAt }
checkHistory { name status }
"""
REQUEST = f"""
mutation($input: RequestTransitionInput!) {{
  requestTransition(input: $input) {{ transitionRequest {{ {REQUEST_FIELDS} }} }}
}}
"""
APPROVE = f"""
mutation($id: ID!, $comment: String) {{
  approveTransitionRequest(input: {{id: $id, comment: $comment}}) {{
    transitionRequest {{ {REQUEST_FIELDS} }}
  }}
}}
"""
REJECT = f"""
mutation($id: ID!, $comment: String) {{
  rejectTransitionRequest(input: {{id: $id, comment: $comment}}) {{
    transitionRequest {{ {REQUEST_FIELDS} }}
  }}
}}
"""
CANCEL = f"""
mutation($id: ID!) {{
  cancelTransitionRequest(input: {{id: $id}}) {{ transitionRequest {{ {REQUEST_FIELDS} }} }}
}}
"""
COMMENT = f"""
mutation($id: ID!, $comment: String!) {{
  commentOnTransitionRequest(input: {{id: $id, comment: $comment}}) {{
    transitionRequest {{ {REQUEST_FIELDS} }}
  }}
}}
"""
REPORT = f"""
mutation($input: ReportCheckInput!) {{
  reportCheck(input: $input) {{
    check {{ name status summary detailsUrl reportedBy }}
    transitionRequest {{ {REQUEST_FIELDS} }}
  }}
}}
"""
READ = f"query($id: ID!) {{ transitionRequest(id: $id) {{ {REQUEST_FIELDS} }} }}"
SET_POLICY = """
mutation($input: SetStagePolicyInput!) { setStagePolicy(input: $input) { policy { stage } } }
"""
STAGES = (
    "query($name: String!) { model(name: $name) { versions { edges { node { version stage } } } } }"
)
HISTORY = """
query($name: String!) {
  model(name: $name) { stageHistory(first: 50) { edges { node {
    version fromStage toStage cause actor comment
  } } } }
}
"""


async def request(
    api: GraphQLClient, model: str, version: int, stage: str, **fields: Any
) -> dict[str, Any]:
    payload = {"modelName": model, "version": version, "stage": stage, **fields}
    data = await api.data(REQUEST, {"input": payload})
    found: dict[str, Any] = data["requestTransition"]["transitionRequest"]
    return found


async def approve(
    api: GraphQLClient, request_id: str, comment: str | None = None
) -> dict[str, Any]:
    data = await api.data(APPROVE, {"id": request_id, "comment": comment})
    found: dict[str, Any] = data["approveTransitionRequest"]["transitionRequest"]
    return found


async def report(
    api: GraphQLClient, request_id: str, name: str, status: str, **fields: Any
) -> dict[str, Any]:
    payload = {"requestId": request_id, "name": name, "status": status, **fields}
    found: dict[str, Any] = (await api.data(REPORT, {"input": payload}))["reportCheck"]
    return found


async def read(api: GraphQLClient, request_id: str) -> dict[str, Any]:
    found: dict[str, Any] = (await api.data(READ, {"id": request_id}))["transitionRequest"]
    return found


async def set_policy(
    api: GraphQLClient, stage: str, approvals: int, checks: list[str] | None = None, **fields: Any
) -> None:
    payload = {"stage": stage, "requiredApprovals": approvals, "requiredChecks": checks or []}
    await api.data(SET_POLICY, {"input": {**payload, **fields}})


async def stages_of(api: GraphQLClient, name: str) -> dict[int, str]:
    data = await api.data(STAGES, {"name": name})
    return {e["node"]["version"]: e["node"]["stage"] for e in data["model"]["versions"]["edges"]}


async def history_of(api: GraphQLClient, name: str) -> list[dict[str, Any]]:
    """The model's stage history, oldest first."""
    data = await api.data(HISTORY, {"name": name})
    return [e["node"] for e in reversed(data["model"]["stageHistory"]["edges"])]


@dataclass
class Team:
    """An admin, a writer (who requests, and reports checks as CI) and two maintainers."""

    admin: GraphQLClient
    writer: GraphQLClient
    maya: GraphQLClient
    max: GraphQLClient
    reader: GraphQLClient


async def team_of(db: Database, admin: GraphQLClient) -> Team:
    async def member(name: str, role: Role) -> GraphQLClient:
        return admin.as_token(await issue_token(db, name, role), name)

    return Team(
        admin=admin,
        writer=await member("walter", Role.WRITER),
        maya=await member("maya", Role.MAINTAINER),
        max=await member("max", Role.MAINTAINER),
        reader=await member("rita", Role.READER),
    )


@asynccontextmanager
async def gated_team(db: Database, settings: Settings | None = None) -> AsyncIterator[Team]:
    """A server keeping the default policy (PRODUCTION: one approval), and its team."""
    async with serving(db, settings, gated=True) as admin:
        yield await team_of(db, admin)


async def fraud_in_production(team: Team, count: int = 2) -> None:
    """`fraud` with `count` versions, version 1 in PRODUCTION (forced by the admin)."""
    await register(team.admin, "fraud", count)
    await transition(team.admin, "fraud", 1, "PRODUCTION", force=True, reason="initial release")
