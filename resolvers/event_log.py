"""Reading the event log: oldest first, filtered, resumable from any event's cursor.

Any valid token may read it, readers included: events carry what the
model queries already show readers (models, versions, stages, aliases,
requests) and never a webhook's URL or secret, which is why the webhook
delivery log is for admins and this is not.

A cursor is an event's place in log order (see storage/queries/events.py):
the `events` query, `registryEvents` and `modelreg watch` hand out and take
the same cursors, so a reader can page with one and carry on live with another.
"""

import dataclasses
import functools
from collections.abc import Sequence

from resolvers import limits, validation
from resolvers.audit_log import utc_time
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput
from resolvers.pagination import Page, ZeroOrMore, decode_cursor, encode_cursor, page_size
from storage.enums import Role
from storage.queries import events
from storage.queries.events import START, EventFilter, Position
from storage.records import EventRecord
from webhooks.filters import EVENT_TYPES, is_valid_pattern, type_matches

_CURSOR_KIND = "event"


# Remembered: a live event goes to every subscriber with the same cursor.
@functools.lru_cache(maxsize=4096)
def position_cursor(position: Position) -> str:
    return encode_cursor(_CURSOR_KIND, *position)


def cursor_of(record: EventRecord) -> str:
    return position_cursor(record.position)


def position_of(cursor: str | None) -> Position:
    """The log position a cursor names; START for None (BAD_USER_INPUT if not a cursor)."""
    if cursor is None:
        return START
    xid, event_id = decode_cursor(cursor, _CURSOR_KIND, (ZeroOrMore, ZeroOrMore))
    return (int(xid), int(event_id))


def _types(patterns: Sequence[str]) -> list[str]:
    """Event types and patterns (`model_version.*`, `*`) as the exact types they cover."""
    limits.at_most(len(patterns), limits.FILTER_VALUES, "event types", "filter.types")
    for pattern in patterns:
        if not is_valid_pattern(pattern):
            raise BadUserInput(
                f"unknown event type {pattern!r}: one of {', '.join(EVENT_TYPES)}, "
                "a prefix such as model_version.*, or *",
                field="filter.types",
            )
    if not patterns or "*" in patterns:
        return []
    return [t for t in EVENT_TYPES if type_matches(patterns, t)]


def checked_filter(event_filter: EventFilter) -> EventFilter:
    """The filter with patterns expanded, names checked, times in UTC, lists bounded."""
    limits.at_most(
        len(event_filter.model_names), limits.FILTER_VALUES, "model names", "filter.modelNames"
    )
    limits.at_most(len(event_filter.stages), limits.FILTER_VALUES, "stages", "filter.stages")
    names = [validation.model_name(n, "filter.modelNames") for n in event_filter.model_names]
    return dataclasses.replace(
        event_filter,
        types=_types(event_filter.types),
        model_names=sorted(set(names)),
        stages=sorted(set(event_filter.stages)),
        since=utc_time(event_filter.since, "since"),
        until=utc_time(event_filter.until, "until"),
    )


async def list_events(
    ctx: RequestContext, event_filter: EventFilter, *, first: int | None, after: str | None
) -> Page[EventRecord]:
    """Events matching `event_filter` after the cursor `after`, oldest first."""
    ctx.authorize(Role.READER, action="events")
    event_filter = checked_filter(event_filter)
    size = page_size(first)
    start = position_of(after)
    async with ctx.read() as conn:
        rows = await events.events_after(conn, start, size + 1, event_filter)

    async def count() -> int:
        async with ctx.read() as conn:
            return await events.count_events(conn, event_filter)

    return Page(items=rows[:size], has_next_page=len(rows) > size, cursor_of=cursor_of, count=count)


async def latest_event_cursor(ctx: RequestContext) -> str:
    """The cursor of the newest event readers can see now (of the log's start if empty).

    Read it before loading what a page shows, then subscribe after it: every
    change that commits later arrives, none is missed between load and join.
    """
    ctx.authorize(Role.READER, action="events")
    async with ctx.read() as conn:
        return position_cursor(await events.last_position(conn))
