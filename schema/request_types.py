"""Transition requests, their reviews and CI checks as GraphQL sees them."""

from __future__ import annotations

from datetime import datetime

import strawberry

from resolvers import limits
from resolvers.request_gate import latest_reports, needed_approvals, policy_of
from schema.enums import CheckStatus, RequestStatus, Stage
from schema.types import Ctx, ModelVersion, RegisteredModel
from storage.enums import ReviewKind
from storage.records import CheckReportRecord, ReviewRecord, TransitionRequestRecord


@strawberry.type(description="An approval, a rejection or a comment on a request.")
class TransitionReview:
    actor: str
    comment: str | None
    created_at: datetime

    @staticmethod
    def of(record: ReviewRecord) -> TransitionReview:
        return TransitionReview(
            actor=record.actor, comment=record.comment, created_at=record.created_at
        )


@strawberry.type(description="One report of a CI check on a request.")
class CheckReport:
    name: str
    status: CheckStatus
    summary: str | None
    details_url: str | None
    reported_by: str
    created_at: datetime

    @staticmethod
    def of(record: CheckReportRecord) -> CheckReport:
        return CheckReport(
            name=record.name,
            status=record.status,
            summary=record.summary,
            details_url=record.details_url,
            reported_by=record.reported_by,
            created_at=record.created_at,
        )


@strawberry.type(
    description="A request to move a version to a stage, or an alias to a version (or to "
    "delete it), once approvals and checks allow it."
)
class TransitionRequest:
    _record: strawberry.Private[TransitionRequestRecord]
    id: strawberry.ID
    version: int
    from_stage: Stage | None = strawberry.field(
        description="The version's stage when requested; if it moves, the request is STALE. "
        "Null for a request for an alias."
    )
    to_stage: Stage | None = strawberry.field(
        description="The stage asked for; null for a request for an alias."
    )
    archive_existing: bool
    alias: str | None = strawberry.field(
        description="The alias to point at `version` (or to delete); null for a stage request."
    )
    alias_from_version: int | None = strawberry.field(
        description="Where the alias pointed when requested (null: nowhere); if it moves, "
        "the request is STALE."
    )
    delete_alias: bool = strawberry.field(
        description="The request deletes the alias (which points at `version`)."
    )
    status: RequestStatus
    comment: str | None = strawberry.field(description="Also the stage history's comment.")
    requested_by: str
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = strawberry.field(description="When it left PENDING.")
    resolved_by: str | None = strawberry.field(
        description="Whose call completed, rejected, cancelled or outdated it."
    )

    @staticmethod
    def of(record: TransitionRequestRecord) -> TransitionRequest:
        return TransitionRequest(
            _record=record,
            id=strawberry.ID(str(record.id)),
            version=record.version,
            from_stage=record.from_stage,
            to_stage=record.to_stage,
            archive_existing=record.archive_existing,
            alias=record.alias,
            alias_from_version=record.alias_from_version,
            delete_alias=record.removes_alias,
            status=record.status,
            comment=record.comment,
            requested_by=record.requested_by,
            created_at=record.created_at,
            updated_at=record.updated_at,
            resolved_at=record.resolved_at,
            resolved_by=record.resolved_by,
        )

    @strawberry.field
    async def model(self, info: Ctx) -> RegisteredModel:
        found = await info.context.loaders.model_by_id.load(self._record.model_id)
        assert found is not None, "a request's model exists while the request does"
        return RegisteredModel.of(found)

    @strawberry.field(description="The version, unless it has been deleted since.")
    async def model_version(self, info: Ctx) -> ModelVersion | None:
        found = await info.context.loaders.version_by_model_id.load(
            (self._record.model_id, self._record.version)
        )
        return ModelVersion.of(found) if found else None

    @strawberry.field(
        description="Approvals needed under the stage's (or alias's) policy now: at least one, "
        "never counting the requester's."
    )
    async def required_approvals(self, info: Ctx) -> int:
        return needed_approvals(await policy_of(info.context, self._record))

    @strawberry.field(description="Checks whose latest report must be SUCCESS (the policy now).")
    async def required_checks(self, info: Ctx) -> list[str]:
        return list((await policy_of(info.context, self._record)).required_checks)

    async def _reviews(self, info: Ctx, kind: ReviewKind) -> list[TransitionReview]:
        found = await info.context.loaders.request_reviews.load(self._record.id)
        of_kind = [r for r in found if r.kind == kind]
        shown = limits.newest_of_oldest_first(of_kind, limits.LISTED_REVIEWS)
        return [TransitionReview.of(r) for r in shown]

    @strawberry.field(description="Oldest first (the latest 100).")
    async def approvals(self, info: Ctx) -> list[TransitionReview]:
        return await self._reviews(info, ReviewKind.APPROVED)

    @strawberry.field(description="Oldest first (the latest 100).")
    async def rejections(self, info: Ctx) -> list[TransitionReview]:
        return await self._reviews(info, ReviewKind.REJECTED)

    @strawberry.field(description="Oldest first (the latest 100).")
    async def comments(self, info: Ctx) -> list[TransitionReview]:
        return await self._reviews(info, ReviewKind.COMMENTED)

    @strawberry.field(description="The latest report of each check, by name (at most 100).")
    async def checks(self, info: Ctx) -> list[CheckReport]:
        found = await info.context.loaders.request_checks.load(self._record.id)
        latest = list(latest_reports(found).values())
        return [CheckReport.of(r) for r in latest[: limits.LISTED_CHECK_REPORTS]]

    @strawberry.field(description="Every report, oldest first (the latest 100).")
    async def check_history(self, info: Ctx) -> list[CheckReport]:
        found = await info.context.loaders.request_checks.load(self._record.id)
        shown = limits.newest_of_oldest_first(found, limits.LISTED_CHECK_REPORTS)
        return [CheckReport.of(r) for r in shown]


@strawberry.input(description="A stage for the version, or an alias to point at it: one of them.")
class RequestTransitionInput:
    model_name: str
    version: int
    stage: Stage | None = None
    alias: str | None = strawberry.field(
        default=None, description="Move this alias to `version` instead of changing its stage."
    )
    delete_alias: bool = strawberry.field(
        default=False,
        description="With `alias`: delete it instead; `version` is the version it points at.",
    )
    archive_existing: bool = strawberry.field(
        default=False, description="Passed on to the transition when it executes."
    )
    comment: str | None = None


@strawberry.input
class ApproveTransitionRequestInput:
    id: strawberry.ID
    comment: str | None = None


@strawberry.input
class RejectTransitionRequestInput:
    id: strawberry.ID
    comment: str | None = strawberry.field(default=None, description="Why, for the requester.")


@strawberry.input
class CommentOnTransitionRequestInput:
    id: strawberry.ID
    comment: str


@strawberry.input
class CancelTransitionRequestInput:
    id: strawberry.ID


@strawberry.input
class ReportCheckInput:
    request_id: strawberry.ID
    name: str = strawberry.field(description="Letters, digits, '_' or '-', e.g. `validation`.")
    status: CheckStatus
    summary: str | None = None
    details_url: str | None = strawberry.field(default=None, description="An http(s) link.")


@strawberry.input(description="Requests matching all the given fields.")
class TransitionRequestFilter:
    model: str | None = None
    status: RequestStatus | None = None
    stage: Stage | None = strawberry.field(default=None, description="The target stage.")


@strawberry.type
class TransitionRequestPayload:
    transition_request: TransitionRequest


@strawberry.type
class ReportCheckPayload:
    check: CheckReport
    transition_request: TransitionRequest = strawberry.field(
        description="COMPLETED when this report let it through."
    )
