"""Requests go STALE when their version leaves the stage it was requested from.

Called in the transaction of every change that moves or deletes a version,
so a request never waits on a version that is no longer where it was.
"""

from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers.context import RequestContext
from resolvers.request_events import STALE, request_event
from storage.clock import utcnow
from storage.enums import RequestStatus
from storage.queries import transition_requests
from storage.records import ModelRecord, TransitionRequestRecord, VersionRecord


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
    outdated = [r for r in pending if r.from_stage != now_by_number[r.version].stage]
    await mark_stale(conn, ctx, model, outdated, now_by_number)


async def after_delete(
    conn: AsyncConnection, ctx: RequestContext, model: ModelRecord, deleted: VersionRecord
) -> None:
    """A version was deleted: all its PENDING requests are STALE."""
    pending = await transition_requests.pending_of_versions(conn, model.id, [deleted.version])
    await mark_stale(conn, ctx, model, pending, {})
