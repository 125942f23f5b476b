"""Root subscription fields, served over WebSocket (graphql-transport-ws) on /graphql."""

from collections.abc import AsyncGenerator

import strawberry

from resolvers import validation
from resolvers.live.events import registry_events
from resolvers.live.uris import watch_model_uri
from schema.event_types import EventFilter, RegistryEvent
from schema.types import Ctx, ModelVersion
from storage.records import EventRecord


@strawberry.type(description="What a models:/ URI resolves to, from a place in the event log on.")
class ModelUriResolution:
    cursor: str = strawberry.field(
        description="The event log position this answer holds from (the event that changed "
        "it, or where the watch began)."
    )
    model_version: ModelVersion | None = strawberry.field(
        description="The version the URI names; null when it names none."
    )


# The event being fanned out, as GraphQL sees it: made once for all its subscriptions.
_fanning_out: tuple[EventRecord, RegistryEvent] | None = None


def _fanned_out(record: EventRecord) -> RegistryEvent:
    global _fanning_out
    if _fanning_out is None or _fanning_out[0] is not record:
        _fanning_out = (record, RegistryEvent.of(record))
    return _fanning_out[1]


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Registry events as they commit. With `after` (a cursor from `events`, "
        "an earlier event, or `modelUriResolutions`), first every event missed since, then "
        "live, with no gap and no duplicate between the two."
    )
    async def registry_events(
        self, info: Ctx, after: str | None = None, filter: EventFilter | None = None
    ) -> AsyncGenerator[RegistryEvent, None]:
        event_filter = filter or EventFilter()
        validation.arguments({"after": after, "filter": event_filter})
        context = info.context

        def push(record: EventRecord) -> bool:
            """Hand the event to the client at once, if the transport can (ctx.live_push)."""
            push_item = context.live_push
            return push_item is not None and push_item(_fanned_out(record))

        async for record in registry_events(context, after, event_filter.to_storage(), push):
            yield RegistryEvent.of(record)

    @strawberry.subscription(
        description="What models:/NAME/Production, /Staging, /latest, /3 or models:/NAME@ALIAS "
        "resolves to now, then again each time that changes (null when nothing matches)."
    )
    async def watch_model_uri(
        self, info: Ctx, uri: str
    ) -> AsyncGenerator[ModelVersion | None, None]:
        validation.arguments({"uri": uri})
        async for resolution in watch_model_uri(info.context, uri):
            version = resolution.version
            yield ModelVersion.of(version) if version is not None else None

    @strawberry.subscription(
        description="`watchModelUri` with the event log position of each answer (what "
        "`modelreg watch` prints and keeps in its state file)."
    )
    async def model_uri_resolutions(
        self, info: Ctx, uri: str
    ) -> AsyncGenerator[ModelUriResolution, None]:
        validation.arguments({"uri": uri})
        async for resolution in watch_model_uri(info.context, uri):
            version = resolution.version
            yield ModelUriResolution(
                cursor=resolution.cursor,
                model_version=ModelVersion.of(version) if version is not None else None,
            )
