"""`watchModelUri`: what a `models:/` URI resolves to now, and again each time that changes.

The watch joins the hub (for every event of the model) before it resolves
the URI, so a change that commits meanwhile still wakes it. Any event of
the model may move the answer (a promotion, a rollback, an alias move, a new
or deleted version): after each burst of them the URI is resolved again, and
a new answer is sent only when it differs (another version, or none).
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass

from resolvers.context import RequestContext
from resolvers.errors import NotFound
from resolvers.event_log import position_cursor
from resolvers.live.events import live_session
from resolvers.uris import parse_model_uri, resolve_model_uri
from storage.enums import Role
from storage.queries.events import EventFilter
from storage.records import VersionRecord


@dataclass(frozen=True, slots=True)
class Resolution:
    """The version the URI names (None: none), as of the event log position `cursor`."""

    cursor: str
    version: VersionRecord | None


async def _resolve(ctx: RequestContext, uri: str) -> VersionRecord | None:
    await ctx.read_afresh()  # the registry as it is now, not as the last answer loaded it
    try:
        return await resolve_model_uri(ctx, uri)
    except NotFound:
        return None


def _identity(version: VersionRecord | None) -> int | None:
    return version.id if version is not None else None


async def watch_model_uri(ctx: RequestContext, uri: str) -> AsyncIterator[Resolution]:
    ctx.authorize(Role.READER, action="watchModelUri")
    session = live_session(ctx)
    name = parse_model_uri(uri).name  # BAD_USER_INPUT before anything is watched
    watched = EventFilter(model_names=[name])
    async with session.hub.subscription(watched, ctx.actor, session.end) as subscriber:
        current = await _resolve(ctx, uri)
        yield Resolution(position_cursor(subscriber.joined_at), current)
        while True:
            event = await subscriber.next()
            burst = [event, *subscriber.pending()]
            await session.check_token()
            found = await _resolve(ctx, uri)
            if _identity(found) != _identity(current):
                current = found
                yield Resolution(position_cursor(burst[-1].position), current)
