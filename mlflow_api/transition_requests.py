"""Databricks' workspace-registry transition requests, mapped onto modelreg's.

`transition-requests/create|approve|reject|list|delete` address a request as
Databricks does, by model, version and target stage (and, to delete, its
creator): here that is the PENDING request of that version into that stage
(a model has at most one per stage; a newer one supersedes it). Approving
counts an approval: the version moves once the stage policy's approvals and
checks are all there, as with GraphQL's approveTransitionRequest. STAGING's
`archive_existing_versions` is the request's own (false when it was made here);
PRODUCTION always archives the previous Production version.
"""

from typing import Any

from mlflow_api.params import Params
from mlflow_api.shapes import STAGE_NAMES, millis
from mlflow_api.stages import stage_of
from resolvers import request_decisions, transition_requests
from resolvers.context import RequestContext
from resolvers.errors import NotFound
from resolvers.models import get_model
from storage.enums import RequestStatus, Role
from storage.records import TransitionRequestRecord

Body = dict[str, Any]
# A model holds at most one PENDING request per stage, so one page finds it.
_PENDING_PAGE = 100


def _stage(record: TransitionRequestRecord, attribute: str) -> str | None:
    stage = getattr(record, attribute)
    return STAGE_NAMES[stage] if stage is not None else None


def activity(record: TransitionRequestRecord, kind: str, *, user: str, comment: str | None) -> Body:
    """A Databricks Activity: what happened to the request, by whom."""
    found: Body = {
        "id": str(record.id),
        "activity_type": kind,
        "from_stage": _stage(record, "from_stage"),
        "to_stage": _stage(record, "to_stage"),
        "user_id": user,
        "creation_timestamp": millis(record.created_at),
        "last_updated_timestamp": millis(record.updated_at),
        "system_comment": f"transition request {record.id} is {record.status.value}",
    }
    if comment:
        found["comment"] = comment
    return found


def _actions(ctx: RequestContext, record: TransitionRequestRecord) -> list[str]:
    """What the caller may do with the request (Databricks' `available_actions`)."""
    principal = ctx.principal
    if principal is None:
        return []
    found = []
    if principal.role.rank >= Role.MAINTAINER.rank and record.requested_by != principal.name:
        found += ["APPROVE_TRANSITION_REQUEST", "REJECT_TRANSITION_REQUEST"]
    if record.requested_by == principal.name or principal.role == Role.ADMIN:
        found.append("CANCEL_TRANSITION_REQUEST")
    return found


async def _pending(
    ctx: RequestContext, params: Params, *, creator: str | None = None
) -> TransitionRequestRecord:
    name, version = params.required("name"), params.version()
    stage = stage_of(params.required("stage"))
    page = await transition_requests.list_requests(
        ctx,
        model_name=name,
        status=RequestStatus.PENDING,
        stage=stage,
        first=_PENDING_PAGE,
        after=None,
    )
    for record in page.items:
        if record.version == version and creator in (None, record.requested_by):
            return record
    by = f" by {creator!r}" if creator is not None else ""
    raise NotFound(
        f"version {version} of {name!r} has no open transition request to {STAGE_NAMES[stage]}{by}",
        model=name,
        version=version,
    )


async def create(ctx: RequestContext, params: Params) -> Body:
    record = await transition_requests.request_transition(
        ctx,
        name=params.required("name"),
        version=params.version(),
        stage=stage_of(params.required("stage")),
        archive_existing=False,
        comment=params.string("comment"),
    )
    request: Body = {
        "creation_timestamp": millis(record.created_at),
        "to_stage": _stage(record, "to_stage"),
        "user_id": record.requested_by,
        "available_actions": _actions(ctx, record),
    }
    if record.comment:
        request["comment"] = record.comment
    return {"request": request}


async def approve(ctx: RequestContext, params: Params) -> Body:
    pending = await _pending(ctx, params)
    comment = params.string("comment")
    record = await request_decisions.approve_request(ctx, pending.id, comment)
    return {"activity": activity(record, "APPROVED_REQUEST", user=ctx.actor, comment=comment)}


async def reject(ctx: RequestContext, params: Params) -> Body:
    pending = await _pending(ctx, params)
    comment = params.string("comment")
    record = await request_decisions.reject_request(ctx, pending.id, comment)
    return {"activity": activity(record, "REJECTED_REQUEST", user=ctx.actor, comment=comment)}


async def delete(ctx: RequestContext, params: Params) -> Body:
    pending = await _pending(ctx, params, creator=params.required("creator"))
    record = await transition_requests.cancel_request(ctx, pending.id)
    comment = params.string("comment")
    return {"activity": activity(record, "CANCELLED_REQUEST", user=ctx.actor, comment=comment)}


async def list_open(ctx: RequestContext, params: Params) -> Body:
    """The version's open (PENDING) stage requests, newest first."""
    name, version = params.required("name"), params.version()
    model = await get_model(ctx, name)
    found = await transition_requests.requests_of_version(
        ctx, model.id, version, RequestStatus.PENDING
    )
    return {
        "requests": [
            activity(r, "REQUESTED_TRANSITION", user=r.requested_by, comment=r.comment)
            for r in found
            if r.to_stage is not None
        ]
    }
