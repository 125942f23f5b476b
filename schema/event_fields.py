"""The event log field of Query (merged into the root type)."""

import strawberry

from resolvers.event_log import latest_event_cursor, list_events
from schema.connections import Connection, connection
from schema.event_types import EventFilter, RegistryEvent
from schema.types import Ctx


@strawberry.type
class EventQuery:
    @strawberry.field(
        description="The registry's changes, oldest first (newest last): page with `after` "
        "to read on; the last cursor resumes where you stopped, live with `registryEvents`."
    )
    async def events(
        self,
        info: Ctx,
        first: int | None = 20,
        after: str | None = None,
        filter: EventFilter | None = None,
    ) -> Connection[RegistryEvent]:
        page = await list_events(
            info.context, (filter or EventFilter()).to_storage(), first=first, after=after
        )
        return connection(page, RegistryEvent.of, after=after)

    @strawberry.field(
        description="The cursor of the newest event now (of the log's start when it is "
        "empty). Read it before loading what you show, then subscribe to `registryEvents` "
        "after it: every change committed since arrives, none falls between the two."
    )
    async def latest_event_cursor(self, info: Ctx) -> str:
        return await latest_event_cursor(info.context)
