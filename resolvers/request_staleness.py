"""Requests go STALE when what they were asked against changes by another path.

A stage request when its version leaves the stage it was requested from, an
alias request when its alias moves; both when their version is deleted.
Called in the transaction of every change that moves or deletes a version or
moves an alias, so a request never waits on a state that is gone.
"""

from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers.context import RequestContext
from resolvers.errors import InvalidTransition
from resolvers.request_events import STALE, request_event
from storage.clock import utcnow
from storage.enums import RequestStatus
from storage.queries import transition_requests, versions
from storage.records import ModelRecord, TransitionRequestRecord, VersionRecord


def stale(request: TransitionRequestRecord, why: str) -> InvalidTransition:
    """The refusal of a decision on a request that is stale, though not yet marked so."""
    return InvalidTransition(
        f"transition request {request.id} is stale: {why}",
        transitionRequest=str(request.id),
        status=RequestStatus.STALE.value,
    )


async def mark_stale(
    conn: AsyncConnection,
    ctx: RequestContext,
    model: ModelRecord,
    requests: Sequence[TransitionRequestRecord],
    versions_now: Mapping[int, VersionRecord],
) -> list[TransitionRequestRecord]:
    """Make the PENDING ones among `requests` STALE, each with its `.stale` event.

    `versions_now` maps version numbers to the versions as they are now (a
    deleted version is missing: the event's modelVersion is then null).
    """
    stale = await transition_requests.resolve(
        conn, [r.id for r in requests], RequestStatus.STALE, actor=ctx.actor, now=utcnow()
    )
    announcements = [
        request_event(STALE, model, r, versions_now.get(r.version), actor=ctx.actor) for r in stale
    ]
    await ctx.publish(conn, model.name, announcements)
    return stale


async def after_move(
    conn: AsyncConnection, ctx: RequestContext, model: ModelRecord, moved: Sequence[VersionRecord]
) -> None:
    """Versions changed stage: their requests made from another stage are STALE."""
    now_by_number = {v.version: v for v in moved}
    pending = await transition_requests.pending_of_versions(conn, model.id, list(now_by_number))
    outdated = [
        r
        for r in pending
        if r.from_stage is not None and r.from_stage != now_by_number[r.version].stage
    ]
    await mark_stale(conn, ctx, model, outdated, now_by_number)


async def after_delete(
    conn: AsyncConnection, ctx: RequestContext, model: ModelRecord, deleted: VersionRecord
) -> None:
    """A version was deleted: all its PENDING requests are STALE."""
    pending = await transition_requests.pending_of_versions(conn, model.id, [deleted.version])
    await mark_stale(conn, ctx, model, pending, {})


async def outdate_alias_requests(
    conn: AsyncConnection, ctx: RequestContext, model: ModelRecord, alias: str
) -> None:
    """The alias moved or went, or a newer request for it came: its PENDING requests are STALE."""
    pending = await transition_requests.pending_for_alias(conn, model.id, alias)
    if pending:
        keys = [(model.id, r.version) for r in pending]
        found = await versions.get_versions_by_number(conn, keys)
        await mark_stale(conn, ctx, model, pending, {v: r for (_, v), r in found.items()})
