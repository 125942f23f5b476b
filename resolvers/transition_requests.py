"""Transition requests: ask for a stage change, cancel, comment, read.

Requests for an alias are made in resolvers/request_aliases.py, approving and
rejecting are in resolvers/request_decisions.py, CI check reports in
resolvers/checks.py, and what a request needs in resolvers/request_gate.py.
"""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import model_cards, validation
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput, Forbidden, InvalidTransition, NotFound
from resolvers.models import get_model, locked_model
from resolvers.pagination import Page, encode_cursor, make_page, page_request
from resolvers.policies import policy_for
from resolvers.request_aliases import request_alias
from resolvers.request_events import CANCELLED, created, request_event
from resolvers.request_staleness import mark_stale, stale
from resolvers.stages import already_in_stage, check_archive_existing
from resolvers.versions import locked_version
from storage.clock import utcnow
from storage.enums import RequestStatus, ReviewKind, Role, Stage
from storage.queries import reviews, transition_requests, versions
from storage.queries.transition_requests import RequestFilter, StageTarget
from storage.records import ModelRecord, ReviewRecord, TransitionRequestRecord, VersionRecord

_CURSOR_KIND = "transitionRequests"


def request_not_found(request_id: int) -> NotFound:
    return NotFound(
        f"transition request {request_id} does not exist", transitionRequest=str(request_id)
    )


@dataclass(frozen=True, slots=True)
class Pending:
    """A PENDING request read under its model's lock, with its version (None: deleted)."""

    model: ModelRecord
    request: TransitionRequestRecord
    version: VersionRecord | None

    def current_version(self) -> VersionRecord:
        """The version, if it still exists and (for a stage request) is where it was."""
        request, version = self.request, self.version
        if version is None:
            raise stale(request, f"version {request.version} of {self.model.name!r} is deleted")
        if request.from_stage is not None and version.stage != request.from_stage:
            raise stale(
                request,
                f"version {request.version} of {self.model.name!r} is in "
                f"{version.stage.value}, not in {request.from_stage.value} as when it was "
                "requested",
            )
        return version


async def find_request(
    ctx: RequestContext, request_id: int
) -> tuple[TransitionRequestRecord, ModelRecord]:
    """The request and its model, named as the audit target; NOT_FOUND if there is none."""
    record = await ctx.loaders.transition_request.load(request_id)
    if record is None:
        raise request_not_found(request_id)
    model = await ctx.loaders.model_by_id.load(record.model_id)
    assert model is not None, "a request's model exists while the request does"
    ctx.audit_target(model=model.name, target=f"{model.name}/{record.version} request {record.id}")
    return record, model


async def locked_pending(
    conn: AsyncConnection, ctx: RequestContext, model_name: str, request_id: int, doing: str
) -> Pending:
    """Lock the model, then read the request: INVALID_TRANSITION unless it is PENDING.

    Reading after the lock means two concurrent decisions on one request see
    each other: the second finds it resolved.
    """
    model = await locked_model(conn, ctx, model_name)
    request = await transition_requests.get_request(conn, request_id)
    if request is None:
        raise request_not_found(request_id)
    if request.status != RequestStatus.PENDING:
        raise InvalidTransition(
            f"transition request {request_id} is {request.status.value}: only PENDING "
            f"requests can be {doing}",
            transitionRequest=str(request_id),
            status=request.status.value,
        )
    version = await versions.get_version(conn, model.id, request.version)
    return Pending(model, request, version)


async def add_review(
    conn: AsyncConnection,
    ctx: RequestContext,
    request_id: int,
    kind: ReviewKind,
    comment: str | None,
) -> ReviewRecord:
    """Record the caller's approval, rejection or comment."""
    return await reviews.insert_review(
        conn, request_id=request_id, kind=kind, actor=ctx.actor, comment=comment, now=utcnow()
    )


async def request_transition(
    ctx: RequestContext,
    *,
    name: str,
    version: int,
    stage: Stage | None,
    archive_existing: bool,
    comment: str | None,
    alias: str | None = None,
    delete_alias: bool = False,
) -> TransitionRequestRecord:
    """Ask for a version to move to `stage` (or an alias to move) once approvals and checks allow.

    Older PENDING requests of the model into the same stage are superseded (STALE).
    """
    ctx.authorize(Role.WRITER, model=name)
    if (stage is None) == (alias is None):
        raise BadUserInput("give exactly one of stage and alias", field="stage")
    if alias is not None:
        if archive_existing:
            raise BadUserInput("archiveExisting applies only to stages", field="archiveExisting")
        return await request_alias(
            ctx, name=name, version=version, alias=alias, delete=delete_alias, comment=comment
        )
    assert stage is not None
    if delete_alias:
        raise BadUserInput("deleteAlias applies only with alias", field="deleteAlias")
    comment = validation.text(comment, "comment", validation.COMMENT_MAX) or None
    check_archive_existing(stage, archive_existing)
    async with ctx.transaction() as conn:
        model, target = await locked_version(conn, ctx, name, version)
        if target.stage == stage:
            raise already_in_stage(name, version, stage)
        card = await model_cards.card_of(conn, target)
        model_cards.require_card(await policy_for(conn, model.id, stage), model, target, card)
        superseded = await transition_requests.pending_into_stage(conn, model.id, stage)
        keys = [(model.id, r.version) for r in superseded]
        found = await versions.get_versions_by_number(conn, keys) if keys else {}
        await mark_stale(conn, ctx, model, superseded, {v: r for (_, v), r in found.items()})
        record = await transition_requests.insert_request(
            conn,
            model_id=model.id,
            version=version,
            target=StageTarget(target.stage, stage, archive_existing),
            comment=comment,
            actor=ctx.actor,
            now=utcnow(),
        )
        await ctx.publish(conn, model.name, [created(model, record, target, card, actor=ctx.actor)])
    return record


async def cancel_request(ctx: RequestContext, request_id: int) -> TransitionRequestRecord:
    """Withdraw a PENDING request: its requester or an admin."""
    ctx.authorize(Role.WRITER)
    request, model = await find_request(ctx, request_id)
    ctx.authorize(Role.WRITER, model=model.name)
    is_admin = ctx.principal is not None and ctx.principal.role == Role.ADMIN
    if request.requested_by != ctx.actor and not is_admin:
        raise Forbidden(
            f"only {request.requested_by!r}, who made transition request {request_id}, "
            "or an admin may cancel it",
            transitionRequest=str(request_id),
        )
    async with ctx.transaction() as conn:
        pending = await locked_pending(conn, ctx, model.name, request_id, "cancelled")
        (cancelled,) = await transition_requests.resolve(
            conn, [request_id], RequestStatus.CANCELLED, actor=ctx.actor, now=utcnow()
        )
        event = request_event(CANCELLED, pending.model, cancelled, pending.version, actor=ctx.actor)
        await ctx.publish(conn, model.name, [event])
    return cancelled


async def comment_on_request(
    ctx: RequestContext, request_id: int, comment: str
) -> TransitionRequestRecord:
    """Add a comment to a request's discussion, whatever its status."""
    ctx.authorize(Role.WRITER)
    request, model = await find_request(ctx, request_id)
    ctx.authorize(Role.WRITER, model=model.name)
    comment = validation.text(comment, "comment", validation.COMMENT_MAX, required=True)
    async with ctx.transaction() as conn:
        await add_review(conn, ctx, request_id, ReviewKind.COMMENTED, comment)
    return request


async def get_request(ctx: RequestContext, request_id: int) -> TransitionRequestRecord:
    record = await ctx.loaders.transition_request.load(request_id)
    if record is None:
        raise request_not_found(request_id)
    return record


async def list_requests(
    ctx: RequestContext,
    *,
    model_name: str | None,
    status: RequestStatus | None,
    stage: Stage | None,
    first: int | None,
    after: str | None,
) -> Page[TransitionRequestRecord]:
    """Requests matching the filter, newest first."""
    if model_name is not None:
        validation.model_name(model_name, "filter.model")
    model_id = (await get_model(ctx, model_name)).id if model_name is not None else None
    request_filter = RequestFilter(model_id=model_id, status=status, to_stage=stage)
    page = page_request(first, after, _CURSOR_KIND, (int,), descending=True)
    async with ctx.read() as conn:
        rows = await transition_requests.requests_page(conn, request_filter, page)
    for row in rows:
        ctx.loaders.transition_request.prime(row.id, row)

    async def count() -> int:
        async with ctx.read() as conn:
            return await transition_requests.count_requests(conn, request_filter)

    return make_page(rows, page, lambda r: encode_cursor(_CURSOR_KIND, r.id), count)


async def requests_of_version(
    ctx: RequestContext, model_id: int, version: int, status: RequestStatus | None
) -> list[TransitionRequestRecord]:
    """A version's requests, newest first (batched across versions)."""
    return await ctx.loaders.version_requests.load(((model_id, version), status))
