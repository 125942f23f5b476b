"""The transition-request fields of Query and Mutation (merged into the root types)."""

import strawberry

from resolvers import checks, request_decisions
from resolvers import transition_requests as use_cases
from resolvers.webhooks import parse_id
from schema.connections import Connection, connection
from schema.request_types import (
    ApproveTransitionRequestInput,
    CancelTransitionRequestInput,
    CheckReport,
    CommentOnTransitionRequestInput,
    RejectTransitionRequestInput,
    ReportCheckInput,
    ReportCheckPayload,
    RequestTransitionInput,
    TransitionRequest,
    TransitionRequestFilter,
    TransitionRequestPayload,
)
from schema.types import Ctx
from storage.records import TransitionRequestRecord


def _payload(record: TransitionRequestRecord) -> TransitionRequestPayload:
    return TransitionRequestPayload(transition_request=TransitionRequest.of(record))


@strawberry.type
class RequestQuery:
    @strawberry.field(description="One transition request; NOT_FOUND if there is none.")
    async def transition_request(self, info: Ctx, id: strawberry.ID) -> TransitionRequest:
        return TransitionRequest.of(await use_cases.get_request(info.context, parse_id(id)))

    @strawberry.field(description="Transition requests, newest first.")
    async def transition_requests(
        self,
        info: Ctx,
        first: int | None = 20,
        after: str | None = None,
        filter: TransitionRequestFilter | None = None,
    ) -> Connection[TransitionRequest]:
        given = filter or TransitionRequestFilter()
        page = await use_cases.list_requests(
            info.context,
            model_name=given.model,
            status=given.status,
            stage=given.stage,
            first=first,
            after=after,
        )
        return connection(page, TransitionRequest.of, after=after)


@strawberry.type
class RequestMutation:
    @strawberry.mutation(
        description="Ask for a stage change, or an alias move, that waits for approvals and "
        "checks (writers)."
    )
    async def request_transition(
        self, info: Ctx, input: RequestTransitionInput
    ) -> TransitionRequestPayload:
        record = await use_cases.request_transition(
            info.context,
            name=input.model_name,
            version=input.version,
            stage=input.stage,
            archive_existing=input.archive_existing,
            comment=input.comment,
            alias=input.alias,
            delete_alias=input.delete_alias,
        )
        return _payload(record)

    @strawberry.mutation(
        description="Approve (maintainers, not the requester); executes the transition "
        "when approvals and checks are complete."
    )
    async def approve_transition_request(
        self, info: Ctx, input: ApproveTransitionRequestInput
    ) -> TransitionRequestPayload:
        record = await request_decisions.approve_request(
            info.context, parse_id(input.id), input.comment
        )
        return _payload(record)

    @strawberry.mutation(description="Reject (maintainers, not the requester).")
    async def reject_transition_request(
        self, info: Ctx, input: RejectTransitionRequestInput
    ) -> TransitionRequestPayload:
        record = await request_decisions.reject_request(
            info.context, parse_id(input.id), input.comment
        )
        return _payload(record)

    @strawberry.mutation(description="Withdraw a PENDING request (its requester or an admin).")
    async def cancel_transition_request(
        self, info: Ctx, input: CancelTransitionRequestInput
    ) -> TransitionRequestPayload:
        return _payload(await use_cases.cancel_request(info.context, parse_id(input.id)))

    @strawberry.mutation
    async def comment_on_transition_request(
        self, info: Ctx, input: CommentOnTransitionRequestInput
    ) -> TransitionRequestPayload:
        record = await use_cases.comment_on_request(info.context, parse_id(input.id), input.comment)
        return _payload(record)

    @strawberry.mutation(
        description="Report a CI check (append-only: the latest report per name counts)."
    )
    async def report_check(self, info: Ctx, input: ReportCheckInput) -> ReportCheckPayload:
        reported = await checks.report_check(
            info.context,
            parse_id(input.request_id, "requestId"),
            name=input.name,
            status=input.status,
            summary=input.summary,
            url=input.details_url,
        )
        return ReportCheckPayload(
            check=CheckReport.of(reported.report),
            transition_request=TransitionRequest.of(reported.request),
        )
