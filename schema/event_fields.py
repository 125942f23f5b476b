"""The event log field of Query (merged into the root type)."""

import strawberry

from resolvers.event_log import list_events
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
