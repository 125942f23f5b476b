"""`registryEvents`: what was missed since a cursor, then every new event as it commits.

The subscriber joins the hub first, at the hub's position P. Events up to P
are read from the log (after the client's cursor), those after P come from
the hub's queue: no event falls between the two, and none is in both.
"""

from collections.abc import AsyncIterator

from resolvers.context import RequestContext
from resolvers.event_log import checked_filter, position_of
from resolvers.live.hub import Push
from resolvers.live.session import LiveSession
from storage.enums import Role
from storage.queries import events
from storage.queries.events import EventFilter
from storage.records import EventRecord

REPLAY_PAGE = 100


def live_session(ctx: RequestContext) -> LiveSession:
    """The WebSocket connection of a subscription (the HTTP layer refuses subscriptions)."""
    assert ctx.live is not None, "subscriptions run over a WebSocket (server/graphql_ws.py)"
    return ctx.live


async def registry_events(
    ctx: RequestContext, after: str | None, event_filter: EventFilter, push: Push | None = None
) -> AsyncIterator[EventRecord]:
    """Events matching `event_filter`: after the cursor `after` (None: from now), then live.

    Live events may go to `push` instead of being yielded, when it takes them
    (see resolvers/live/hub.py): the caller's way to send one to the client
    at once, as it would send what this yields.
    """
    ctx.authorize(Role.READER, action="registryEvents")
    session = live_session(ctx)
    event_filter = checked_filter(event_filter)
    start = position_of(after) if after is not None else None

    def push_checked(event: EventRecord) -> bool:
        """`push`, while the token needs no check (that one is made here, on the way out)."""
        return push is not None and session.token_checked() and push(event)

    async with session.hub.subscription(event_filter, ctx.actor, session.end, start) as subscriber:
        if start is not None:
            async for event in _replay(ctx, start, subscriber.joined_at, event_filter):
                await session.check_token()
                yield event
        while True:
            # Everything yielded before was sent by now: a pushed event cannot overtake it.
            event = await subscriber.next(push_checked)
            await session.check_token()
            yield event


async def _replay(
    ctx: RequestContext, start: events.Position, upto: events.Position, event_filter: EventFilter
) -> AsyncIterator[EventRecord]:
    """The logged events after `start` up to `upto`, a page at a time."""
    position = start
    while position < upto:
        async with ctx.db.read() as conn:
            page = await events.events_after(conn, position, REPLAY_PAGE, event_filter, upto=upto)
        for event in page:
            yield event
        if len(page) < REPLAY_PAGE:
            return
        position = page[-1].position
