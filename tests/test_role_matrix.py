"""Every mutation and query under every kind of caller: allowed, or refused with nothing changed.

Callers: no token, an expired token, a revoked token, a maintainer token
limited to other models, and one token per role. Each role acts on a world of
its own (model `m-<role>`, its webhook, its transition request), so an allowed
call never spoils another's target. A test fails when a mutation of the schema
has no row here.
"""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from schema.schema import schema
from server.settings import Settings
from storage.clock import utcnow
from storage.database import Database
from storage.enums import Role
from storage.tables import api_tokens, audit_log, webhook_deliveries
from tests.conftest import issue_token, serving
from tests.graphql import GraphQLClient, register
from tests.receiver import Receiver
from tests.snapshot import snapshot
from tests.webhook_client import create_webhook

ROLES = (Role.READER, Role.WRITER, Role.MAINTAINER, Role.ADMIN)
# No dispatcher: deliveries must not move while the test compares snapshots.
SETTINGS = Settings(webhook_dispatcher=False, webhook_allow_private_networks=True)


@dataclass
class World:
    """What each role's calls act on."""

    receiver_url: str
    webhooks: dict[Role, str] = field(default_factory=dict)
    deliveries: dict[Role, str] = field(default_factory=dict)
    requests: dict[Role, str] = field(default_factory=dict)


Variables = Callable[[World, Role], dict[str, Any]]


@dataclass(frozen=True)
class Case:
    input_type: str
    variables: Variables
    role: Role  # the lowest role that may make the call

    def document(self, mutation: str) -> str:
        return (
            f"mutation($input: {self.input_type}!) {{ {mutation}(input: $input) {{ __typename }} }}"
        )


def model(role: Role) -> str:
    return f"m-{role.value}"


def on_model(**extra: Any) -> Variables:
    return lambda world, role: {"modelName": model(role), **extra}


def on_webhook(**extra: Any) -> Variables:
    return lambda world, role: {"id": world.webhooks[role], **extra}


def on_request(**extra: Any) -> Variables:
    return lambda world, role: {"id": world.requests[role], **extra}


CASES: dict[str, Case] = {
    "createModel": Case("CreateModelInput", lambda w, r: {"name": f"new-{r.value}"}, Role.WRITER),
    "createModelVersion": Case("CreateModelVersionInput", on_model(source="s3://x"), Role.WRITER),
    "updateModel": Case(
        "UpdateModelInput", lambda w, r: {"name": model(r), "description": "d"}, Role.WRITER
    ),
    "updateModelVersion": Case(
        "UpdateModelVersionInput", on_model(version=1, description="d"), Role.WRITER
    ),
    "setTag": Case("SetTagInput", on_model(key="k", value="v"), Role.WRITER),
    "deleteTag": Case("DeleteTagInput", on_model(key="team"), Role.WRITER),
    "setAlias": Case("SetAliasInput", on_model(alias="challenger", version=3), Role.WRITER),
    "deleteAlias": Case("DeleteAliasInput", on_model(alias="champion"), Role.WRITER),
    "transitionStage": Case(
        "TransitionStageInput", on_model(version=3, stage="ARCHIVED"), Role.WRITER
    ),
    "rollback": Case("RollbackInput", on_model(), Role.MAINTAINER),
    "deleteModelVersion": Case("DeleteModelVersionInput", on_model(version=3), Role.MAINTAINER),
    "deleteModel": Case("DeleteModelInput", lambda w, r: {"name": model(r)}, Role.MAINTAINER),
    "createWebhook": Case(
        "CreateWebhookInput", lambda w, r: {"url": w.receiver_url, "events": ["*"]}, Role.ADMIN
    ),
    "updateWebhook": Case("UpdateWebhookInput", on_webhook(description="d"), Role.ADMIN),
    "deleteWebhook": Case("WebhookIdInput", on_webhook(), Role.ADMIN),
    "enableWebhook": Case("WebhookIdInput", on_webhook(), Role.ADMIN),
    "disableWebhook": Case("DisableWebhookInput", on_webhook(), Role.ADMIN),
    "rotateWebhookSecret": Case("WebhookIdInput", on_webhook(), Role.ADMIN),
    "testWebhook": Case("WebhookIdInput", on_webhook(), Role.ADMIN),
    "redeliver": Case("RedeliverInput", lambda w, r: {"deliveryId": w.deliveries[r]}, Role.ADMIN),
    "createApiToken": Case(
        "CreateApiTokenInput", lambda w, r: {"name": f"t-{r.value}", "role": "READER"}, Role.ADMIN
    ),
    "revokeApiToken": Case(
        "RevokeApiTokenInput", lambda w, r: {"name": f"victim-{r.value}"}, Role.ADMIN
    ),
    "setStagePolicy": Case(
        "SetStagePolicyInput", on_model(stage="STAGING", requiredApprovals=1), Role.ADMIN
    ),
    "clearStagePolicy": Case("ClearStagePolicyInput", on_model(stage="NONE"), Role.ADMIN),
    "setAliasPolicy": Case("SetAliasPolicyInput", on_model(alias="champion"), Role.ADMIN),
    "clearAliasPolicy": Case("ClearAliasPolicyInput", on_model(alias="stable"), Role.ADMIN),
}

# Transition-request mutations: the request of each world was made by `requester`.
REQUEST_CASES: dict[str, Case] = {
    "requestTransition": Case(
        "RequestTransitionInput", on_model(version=3, stage="PRODUCTION"), Role.WRITER
    ),
    "approveTransitionRequest": Case(
        "ApproveTransitionRequestInput", on_request(comment="ok"), Role.MAINTAINER
    ),
    "rejectTransitionRequest": Case(
        "RejectTransitionRequestInput", on_request(comment="no"), Role.MAINTAINER
    ),
    # Only the requester (not one of these tokens) or an admin may cancel.
    "cancelTransitionRequest": Case("CancelTransitionRequestInput", on_request(), Role.ADMIN),
    "commentOnTransitionRequest": Case(
        "CommentOnTransitionRequestInput", on_request(comment="looks fine"), Role.WRITER
    ),
    "reportCheck": Case(
        "ReportCheckInput",
        lambda w, r: {"requestId": w.requests[r], "name": "validation", "status": "SUCCESS"},
        Role.WRITER,
    ),
}


# More doors of a mutation that need a role of their own, keyed "mutation:door".
DOOR_CASES: dict[str, Case] = {
    # Version 2 is in PRODUCTION: leaving it changes what serving loads.
    "transitionStage:production-to-archived": Case(
        "TransitionStageInput", on_model(version=2, stage="ARCHIVED"), Role.MAINTAINER
    ),
    "transitionStage:production-to-staging": Case(
        "TransitionStageInput",
        on_model(version=2, stage="STAGING", archiveExisting=True),
        Role.MAINTAINER,
    ),
    "deleteModelVersion:production-version": Case(
        "DeleteModelVersionInput", on_model(version=2), Role.MAINTAINER
    ),
    # `stable` is protected by role only (no approvals): maintainers move it directly.
    "setAlias:role-protected": Case(
        "SetAliasInput", on_model(alias="stable", version=3), Role.MAINTAINER
    ),
    "deleteAlias:role-protected": Case(
        "DeleteAliasInput", on_model(alias="stable"), Role.MAINTAINER
    ),
    # `gold` needs an approval: only an admin's force moves it without a request.
    "setAlias:gated-force": Case(
        "SetAliasInput",
        on_model(alias="gold", version=3, force=True, reason="incident 7"),
        Role.ADMIN,
    ),
    "requestTransition:alias": Case(
        "RequestTransitionInput", on_model(version=3, alias="gold"), Role.WRITER
    ),
}


def mutation_of(key: str) -> str:
    return key.split(":")[0]


def schema_mutations() -> set[str]:
    mutation_type = schema._schema.mutation_type
    assert mutation_type is not None
    return set(mutation_type.fields)


def all_cases() -> dict[str, Case]:
    present = schema_mutations()
    requests = {k: v for k, v in REQUEST_CASES.items() if mutation_of(k) in present}
    return {**CASES, **requests, **DOOR_CASES}


def test_every_mutation_has_a_row() -> None:
    assert {mutation_of(key) for key in all_cases()} == schema_mutations()


@dataclass
class Callers:
    """A client per caller: refused ones (with the code they get) and one per role."""

    refused: dict[str, tuple[GraphQLClient, str]]
    roles: dict[Role, GraphQLClient]


async def callers(admin: GraphQLClient, db: Database) -> Callers:
    expired = await issue_token(db, "expired", Role.ADMIN)
    revoked = await issue_token(db, "revoked", Role.ADMIN)
    async with db.transaction() as conn:
        past = utcnow() - timedelta(seconds=1)
        await conn.execute(
            update(api_tokens).where(api_tokens.c.name == "expired").values(expires_at=past)
        )
        await conn.execute(
            update(api_tokens).where(api_tokens.c.name == "revoked").values(revoked_at=past)
        )
    outside = await issue_token(db, "outside", Role.MAINTAINER, ("other-*",))
    roles = {
        role: admin.as_token(await issue_token(db, role.value, role), role.value) for role in ROLES
    }
    return Callers(
        refused={
            "no token": (admin.as_token(None), "UNAUTHENTICATED"),
            "expired": (admin.as_token(expired, "expired"), "UNAUTHENTICATED"),
            "revoked": (admin.as_token(revoked, "revoked"), "UNAUTHENTICATED"),
            "outside its models": (admin.as_token(outside, "outside"), "FORBIDDEN"),
        },
        roles=roles,
    )


async def seed(admin: GraphQLClient, db: Database, receiver: Receiver) -> World:
    world = World(receiver_url=receiver.url())
    has_requests = "requestTransition" in schema_mutations()
    requester = admin.as_token(await issue_token(db, "requester", Role.WRITER), "requester")
    for role in ROLES:
        name = model(role)
        world.webhooks[role], _ = await create_webhook(admin, receiver.url(), modelNames=[name])
        await register(admin, name, 3)
        for version in (1, 2):
            await admin.data(
                "mutation($in: TransitionStageInput!) { transitionStage(input: $in) "
                "{ __typename } }",
                {"in": {"modelName": name, "version": version, "stage": "PRODUCTION"}},
            )
        for mutation in (
            f'setTag(input: {{modelName: "{name}", key: "team", value: "a"}})',
            f'setAlias(input: {{modelName: "{name}", alias: "champion", version: 1}})',
            f'setStagePolicy(input: {{modelName: "{name}", stage: NONE}})',
            f'setAlias(input: {{modelName: "{name}", alias: "stable", version: 1}})',
            f'setAliasPolicy(input: {{modelName: "{name}", alias: "stable", '
            "requiredApprovals: 0})",
            f'setAliasPolicy(input: {{modelName: "{name}", alias: "gold"}})',
        ):
            await admin.data(f"mutation {{ {mutation} {{ __typename }} }}")
        await issue_token(db, f"victim-{role.value}", Role.READER)
        if has_requests:
            data = await requester.data(
                "mutation($in: RequestTransitionInput!) { requestTransition(input: $in) "
                "{ transitionRequest { id } } }",
                {"in": {"modelName": name, "version": 3, "stage": "PRODUCTION"}},
            )
            world.requests[role] = data["requestTransition"]["transitionRequest"]["id"]
    async with db.read() as conn:
        for role in ROLES:
            world.deliveries[role] = str(
                (
                    await conn.execute(
                        select(func.min(webhook_deliveries.c.id)).where(
                            webhook_deliveries.c.webhook_id == int(world.webhooks[role])
                        )
                    )
                ).scalar_one()
            )
    return world


async def audit_results(db: Database) -> list[str]:
    async with db.read() as conn:
        rows = await conn.execute(select(audit_log.c.result).order_by(audit_log.c.id))
        return list(rows.scalars())


@pytest.fixture
async def admin(db: Database) -> AsyncIterator[GraphQLClient]:
    async with serving(db, SETTINGS) as client:
        yield client


@pytest.mark.parametrize("mutation", sorted(all_cases()))
async def test_mutation_under_every_caller(
    mutation: str, admin: GraphQLClient, db: Database, receiver: Receiver
) -> None:
    case = all_cases()[mutation]
    world = await seed(admin, db, receiver)
    who = await callers(admin, db)
    document = case.document(mutation_of(mutation))

    before, audited = await snapshot(db), len(await audit_results(db))
    expected_refusals = []
    for label, (client, code) in who.refused.items():
        variables = {"input": case.variables(world, Role.ADMIN)}
        status = 401 if code == "UNAUTHENTICATED" else 200
        assert await client.code(document, variables, status=status) == code, label
        expected_refusals.append(code)
    for role, client in who.roles.items():
        if role.rank < case.role.rank:
            variables = {"input": case.variables(world, role)}
            assert await client.code(document, variables) == "FORBIDDEN", role
            expected_refusals.append("FORBIDDEN")
    assert await snapshot(db) == before
    assert (await audit_results(db))[audited:] == expected_refusals

    for role, client in who.roles.items():
        if role.rank >= case.role.rank:
            await client.data(document, {"input": case.variables(world, role)})
    assert (await audit_results(db))[-1] == "OK"


QUERIES: dict[str, Role] = {
    '{ model(name: "m-reader") { name } }': Role.READER,
    "{ models(first: 5) { totalCount } }": Role.READER,
    '{ modelVersion(name: "m-reader", version: 1) { version } }': Role.READER,
    '{ resolveModelUri(uri: "models:/m-reader/production") { version } }': Role.READER,
    "{ stagePolicies { stage } }": Role.READER,
    '{ aliasPolicies(modelName: "m-reader") { alias gated } }': Role.READER,
    '{ model(name: "m-reader") { aliasHistory(first: 5) { totalCount } } }': Role.READER,
    "{ viewer { name role } }": Role.READER,
    "{ webhooks(first: 5) { totalCount } }": Role.ADMIN,
    "{ apiTokens(first: 5) { totalCount } }": Role.ADMIN,
    "{ auditLog(first: 5) { totalCount } }": Role.ADMIN,
}


async def test_queries_under_every_caller(
    admin: GraphQLClient, db: Database, receiver: Receiver
) -> None:
    await seed(admin, db, receiver)
    who = await callers(admin, db)
    webhook_id = (await admin.data("{ webhooks(first: 1) { edges { node { id } } } }"))["webhooks"][
        "edges"
    ][0]["node"]["id"]
    queries = {**QUERIES, f'{{ webhook(id: "{webhook_id}") {{ url }} }}': Role.ADMIN}
    for query, lowest in queries.items():
        for label, (client, code) in who.refused.items():
            if code == "UNAUTHENTICATED":
                assert await client.code(query, status=401) == code, (query, label)
        for role, client in who.roles.items():
            if role.rank >= lowest.rank:
                await client.data(query)
            else:
                assert await client.code(query) == "FORBIDDEN", (query, role)
        # A token limited to other models still reads everything.
        outside, _ = who.refused["outside its models"]
        if lowest.rank <= Role.MAINTAINER.rank:
            await outside.data(query)
