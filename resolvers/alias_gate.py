"""The alias gate: the policy in force for an alias, and whether a direct move may pass.

A policy is looked up as: the model's override, else the global row for the
alias name, else none (the alias is unprotected: any writer moves it, as
before policies existed). A gated policy (approvals or checks) sends every
move through a transition request or an admin `force`; a policy that asks for
neither still limits direct moves to its role.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers.context import RequestContext
from resolvers.errors import ApprovalRequired
from resolvers.policy_rules import PolicySource, describe_needs
from storage.enums import Role
from storage.queries import alias_policies
from storage.records import AliasPolicyRecord


@dataclass(frozen=True, slots=True)
class AliasPolicy:
    """The policy in force for one alias of one model (or globally), and where it comes from."""

    alias: str
    required_approvals: int
    required_checks: tuple[str, ...]
    role: Role
    source: PolicySource
    record: AliasPolicyRecord | None = None

    @property
    def protected(self) -> bool:
        return self.source != PolicySource.DEFAULT

    @property
    def gated(self) -> bool:
        """Does a move of this alias need a transition request (or an admin force)?"""
        return self.required_approvals > 0 or bool(self.required_checks)

    @property
    def reviewer_role(self) -> Role:
        """Who may approve or reject requests for the alias: maintainers, or the policy's role."""
        return max(Role.MAINTAINER, self.role, key=lambda r: r.rank)

    def describe(self) -> str:
        return describe_needs(self.required_approvals, self.required_checks)


def unprotected(alias: str) -> AliasPolicy:
    return AliasPolicy(alias, 0, (), Role.WRITER, PolicySource.DEFAULT)


def of_record(record: AliasPolicyRecord) -> AliasPolicy:
    source = PolicySource.MODEL if record.model_id is not None else PolicySource.GLOBAL
    return AliasPolicy(
        record.alias,
        record.required_approvals,
        tuple(record.required_checks),
        record.role,
        source,
        record,
    )


def resolve_rows(alias: str, rows: Sequence[AliasPolicyRecord]) -> AliasPolicy:
    """The policy of `alias` from rows holding the global ones and (at most) one model's."""
    mine = [r for r in rows if r.alias == alias]
    override = next((r for r in mine if r.model_id is not None), None)
    global_row = next((r for r in mine if r.model_id is None), None)
    found = override or global_row
    return of_record(found) if found is not None else unprotected(alias)


async def policies_for(
    conn: AsyncConnection, model_id: int, aliases: Sequence[str]
) -> dict[str, AliasPolicy]:
    """The policy in force for each of some aliases of `model_id`."""
    rows = await alias_policies.stored_alias_policies(conn, model_id, aliases)
    return {alias: resolve_rows(alias, rows) for alias in aliases}


async def policy_for(conn: AsyncConnection, model_id: int, alias: str) -> AliasPolicy:
    return (await policies_for(conn, model_id, [alias]))[alias]


def approval_required(
    policy: AliasPolicy, model: str, alias: str, version: int | None
) -> ApprovalRequired:
    """The refusal of a direct move of a gated alias (`version` None: deleting it)."""
    what = f"pointing {alias!r} at version {version}" if version else f"deleting {alias!r}"
    return ApprovalRequired(
        f"{what} of {model!r} needs {policy.describe()}: the alias is protected; ask with "
        "requestTransition (or an admin may force it with a reason)",
        model=model,
        alias=alias,
        version=version,
        requiredApprovals=policy.required_approvals,
        requiredChecks=list(policy.required_checks),
    )


def authorize_direct_move(
    ctx: RequestContext,
    policy: AliasPolicy,
    *,
    model: str,
    version: int | None,
    force: bool,
    doing: str,
) -> bool:
    """May the caller move (or delete) the alias without a request? True when forced past it.

    A gated alias needs a request or an admin `force` (checked by the caller);
    otherwise the policy's role is enough.
    """
    if policy.gated:
        if not force:
            raise approval_required(policy, model, policy.alias, version)
        return True
    ctx.authorize(policy.role, model=model, action=f"{doing} the protected alias {policy.alias!r}")
    return False
