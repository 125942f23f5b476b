"""When a transition request may execute: approvals and checks against the policy now.

A request needs max(1, policy.requiredApprovals) approvals from distinct
maintainers other than the requester, and a latest report of SUCCESS for each
of policy.requiredChecks. The policy (the target stage's, or the alias's) is
read when deciding, not when requesting.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import alias_gate, model_cards
from resolvers.alias_gate import AliasPolicy
from resolvers.alias_moves import move_alias
from resolvers.context import RequestContext
from resolvers.policies import Policy, policy_for, resolve_rows
from resolvers.request_events import COMPLETED, request_event
from resolvers.request_staleness import stale
from resolvers.stages import move_version
from storage.clock import utcnow
from storage.enums import AliasChangeCause, ChangeCause, CheckStatus, RequestStatus, ReviewKind
from storage.queries import aliases, reviews, transition_requests
from storage.records import (
    CheckReportRecord,
    ModelRecord,
    ReviewRecord,
    TransitionRequestRecord,
    VersionRecord,
)

# What a request is measured against: a stage policy or an alias policy.
Requirements = Policy | AliasPolicy


def needed_approvals(policy: Requirements) -> int:
    """Every request needs at least one approval, whatever the policy says."""
    return max(1, policy.required_approvals)


def latest_reports(reports: Sequence[CheckReportRecord]) -> dict[str, CheckReportRecord]:
    """The latest report of each check name (reports come oldest first), by name."""
    latest: dict[str, CheckReportRecord] = {}
    for report in reports:
        latest[report.name] = report
    return dict(sorted(latest.items()))


def approvers(request: TransitionRequestRecord, found: Sequence[ReviewRecord]) -> set[str]:
    return {
        r.actor for r in found if r.kind == ReviewKind.APPROVED and r.actor != request.requested_by
    }


@dataclass(frozen=True, slots=True)
class Gate:
    """Where a request stands against its policy."""

    policy: Requirements
    approvers: frozenset[str]
    latest: dict[str, CheckReportRecord]

    def checks_in(self, status: CheckStatus) -> list[str]:
        return [
            name
            for name in self.policy.required_checks
            if name in self.latest and self.latest[name].status == status
        ]

    @property
    def failed_checks(self) -> list[str]:
        return self.checks_in(CheckStatus.FAILURE)

    @property
    def satisfied(self) -> bool:
        passed = self.checks_in(CheckStatus.SUCCESS)
        return len(self.approvers) >= needed_approvals(self.policy) and len(passed) == len(
            self.policy.required_checks
        )

    def approved_by(self, actor: str) -> "Gate":
        return Gate(self.policy, self.approvers | {actor}, self.latest)


async def gate_of(
    conn: AsyncConnection, model: ModelRecord, request: TransitionRequestRecord
) -> Gate:
    """The request's approvals and checks as they are in this transaction."""
    policy: Requirements
    if request.alias is not None:
        policy = await alias_gate.policy_for(conn, model.id, request.alias)
    else:
        assert request.to_stage is not None, "a request targets a stage or an alias"
        policy = await policy_for(conn, model.id, request.to_stage)
    found = (await reviews.reviews_of(conn, [request.id])).get(request.id, [])
    reports = (await reviews.check_reports_of(conn, [request.id])).get(request.id, [])
    return Gate(policy, frozenset(approvers(request, found)), latest_reports(reports))


async def policy_of(ctx: RequestContext, request: TransitionRequestRecord) -> Requirements:
    """The policy in force now for the request's target (through a DataLoader)."""
    if request.alias is not None:
        found = await ctx.loaders.model_alias_policies.load(request.model_id)
        return alias_gate.resolve_rows(request.alias, found)
    assert request.to_stage is not None, "a request targets a stage or an alias"
    rows = await ctx.loaders.model_policies.load(request.model_id)
    return resolve_rows(request.to_stage, rows)


async def complete_if_satisfied(
    conn: AsyncConnection,
    ctx: RequestContext,
    model: ModelRecord,
    request: TransitionRequestRecord,
    version: VersionRecord,
    gate: Gate,
) -> TransitionRequestRecord:
    """Execute the transition in the caller's transaction once the gate is satisfied.

    The request is COMPLETED first, so the stage change (or alias move) does
    not make it STALE.
    """
    if not gate.satisfied:
        return request
    if isinstance(gate.policy, Policy):
        # The policy is read when deciding: a card removed since the request was made counts.
        await model_cards.check_card(conn, gate.policy, model, version)
    (completed,) = await transition_requests.resolve(
        conn, [request.id], RequestStatus.COMPLETED, actor=ctx.actor, now=utcnow()
    )
    if request.alias is not None:
        moved = await _move_alias(conn, ctx, model, request, version)
    else:
        assert request.to_stage is not None, "a request targets a stage or an alias"
        _, moved = await move_version(
            conn,
            ctx,
            model,
            version,
            request.to_stage,
            cause=ChangeCause.APPROVAL,
            comment=request.comment,
            archive_existing=request.archive_existing,
        )
    await ctx.publish(
        conn, model.name, [request_event(COMPLETED, model, completed, moved, actor=ctx.actor)]
    )
    return completed


async def _move_alias(
    conn: AsyncConnection,
    ctx: RequestContext,
    model: ModelRecord,
    request: TransitionRequestRecord,
    version: VersionRecord,
) -> VersionRecord:
    """Point the request's alias at its version, or delete it; refuse if it moved meanwhile."""
    assert request.alias is not None
    previous = await aliases.get_alias(conn, model.id, request.alias)
    now_at = previous.version if previous is not None else None
    if now_at != request.alias_from_version:
        # Every other move outdates the alias's requests; this is the last line of defence.
        raise stale(
            request, f"alias {request.alias!r} moved since the request was made (to {now_at})"
        )
    await move_alias(
        conn,
        ctx,
        model,
        request.alias,
        previous=previous,
        target=None if request.removes_alias else version,
        cause=AliasChangeCause.APPROVAL,
        comment=request.comment,
        request_id=request.id,
    )
    return version
