"""The event log as GraphQL sees it: events and the filter over them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from resolvers.event_log import cursor_of
from schema.enums import Stage
from storage.queries.events import EventFilter as StorageEventFilter
from storage.records import EventRecord


@strawberry.type(description="One change of the registry, as webhooks announce it.")
class RegistryEvent:
    cursor: str = strawberry.field(
        description="This event's place in the log: pass it as `after` (to `events` or "
        "`registryEvents`) to get the events that follow it."
    )
    type: str = strawberry.field(
        description="The webhook event type, e.g. `model_version.stage_changed`."
    )
    sequence: int = strawberry.field(
        description="Counts the events of this model up by one (across deletion and "
        "re-creation of the model): drop an event whose sequence you have seen."
    )
    occurred_at: datetime
    actor: str | None = strawberry.field(description="Who made the change.")
    model_name: str
    version: int | None = strawberry.field(description="The version it is about, if one.")
    data: JSON = strawberry.field(description="The webhook payload's `data`, as sent.")

    @staticmethod
    def of(record: EventRecord) -> RegistryEvent:
        data: Any = record.data
        return RegistryEvent(
            cursor=cursor_of(record),
            type=record.type,
            sequence=record.sequence or 0,
            occurred_at=record.created_at,
            actor=record.actor,
            model_name=record.model_name or "",
            version=record.version,
            data=data,
        )


@strawberry.input(description="Events matching all the given fields; an empty list means any.")
class EventFilter:
    types: list[str] = strawberry.field(
        default_factory=list,
        description="Event types, or prefixes such as `model_version.*` (at most 100).",
    )
    model_names: list[str] = strawberry.field(default_factory=list, description="At most 100.")
    stages: list[Stage] = strawberry.field(
        default_factory=list,
        description="Events that move a version into one of these stages (stage changes, "
        "rollbacks, and transition requests for them).",
    )
    since: datetime | None = strawberry.field(default=None, description="Inclusive.")
    until: datetime | None = strawberry.field(default=None, description="Exclusive.")

    def to_storage(self) -> StorageEventFilter:
        return StorageEventFilter(
            types=list(self.types),
            model_names=list(self.model_names),
            stages=[s.value for s in self.stages],
            since=self.since,
            until=self.until,
        )
