"""Maintainers approve or reject transition requests; never their own (four eyes).

A request for a protected alias whose policy names a higher role (admin) is
decided by that role only.
"""

from resolvers import validation
from resolvers.alias_gate import AliasPolicy
from resolvers.context import RequestContext
from resolvers.errors import ApprovalRequired, Conflict, Forbidden
from resolvers.request_events import APPROVED, REJECTED, reviewed
from resolvers.request_gate import complete_if_satisfied, gate_of, policy_of
from resolvers.transition_requests import add_review, find_request, locked_pending
from storage.enums import RequestStatus, ReviewKind, Role
from storage.queries import transition_requests
from storage.records import ModelRecord, TransitionRequestRecord


async def _reviewable(ctx: RequestContext, request_id: int, doing: str) -> ModelRecord:
    """The request's model, once the caller may review it: a maintainer, not the requester."""
    ctx.authorize(Role.MAINTAINER)
    request, model = await find_request(ctx, request_id)
    ctx.authorize(Role.MAINTAINER, model=model.name)
    if request.alias is not None:
        policy = await policy_of(ctx, request)
        assert isinstance(policy, AliasPolicy)
        ctx.authorize(
            policy.reviewer_role,
            model=model.name,
            action=f"deciding on requests for the protected alias {request.alias!r}",
        )
    if request.requested_by == ctx.actor:
        raise Forbidden(
            f"{ctx.actor!r} made transition request {request_id} and may not {doing} it: "
            "another maintainer has to (four eyes)",
            transitionRequest=str(request_id),
        )
    return model


async def approve_request(
    ctx: RequestContext, request_id: int, comment: str | None
) -> TransitionRequestRecord:
    """Approve; when approvals and checks are then complete, the transition executes now.

    Refused while a required check's latest report is FAILURE, so an approval
    always means "good to go once the checks pass".
    """
    comment = validation.text(comment, "comment", validation.COMMENT_MAX) or None
    model = await _reviewable(ctx, request_id, "approve")
    async with ctx.transaction() as conn:
        pending = await locked_pending(conn, ctx, model.name, request_id, "approved")
        version = pending.current_version()
        gate = await gate_of(conn, pending.model, pending.request)
        if ctx.actor in gate.approvers:
            raise Conflict(
                f"{ctx.actor!r} has already approved transition request {request_id}",
                transitionRequest=str(request_id),
            )
        if gate.failed_checks:
            failed = ", ".join(gate.failed_checks)
            raise ApprovalRequired(
                f"transition request {request_id} cannot be approved while its checks "
                f"{failed} fail: a SUCCESS report has to come first",
                transitionRequest=str(request_id),
                failedChecks=gate.failed_checks,
            )
        review = await add_review(conn, ctx, request_id, ReviewKind.APPROVED, comment)
        event = reviewed(APPROVED, pending.model, pending.request, version, review)
        await ctx.publish(conn, model.name, [event])
        return await complete_if_satisfied(
            conn, ctx, pending.model, pending.request, version, gate.approved_by(ctx.actor)
        )


async def reject_request(
    ctx: RequestContext, request_id: int, comment: str | None
) -> TransitionRequestRecord:
    comment = validation.text(comment, "comment", validation.COMMENT_MAX) or None
    model = await _reviewable(ctx, request_id, "reject")
    async with ctx.transaction() as conn:
        pending = await locked_pending(conn, ctx, model.name, request_id, "rejected")
        review = await add_review(conn, ctx, request_id, ReviewKind.REJECTED, comment)
        (rejected,) = await transition_requests.resolve(
            conn, [request_id], RequestStatus.REJECTED, actor=ctx.actor, now=review.created_at
        )
        event = reviewed(REJECTED, pending.model, rejected, pending.version, review)
        await ctx.publish(conn, model.name, [event])
    return rejected
