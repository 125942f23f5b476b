"""The audit log as GraphQL sees it: entries and the filter over them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from storage.queries.audit import AuditFilter as StorageAuditFilter
from storage.records import AuditRecord


@strawberry.type(description="One mutation call: who asked for what, and how it ended.")
class AuditEntry:
    id: strawberry.ID
    created_at: datetime
    actor: str = strawberry.field(
        description="The token's name (also for expired or revoked tokens); `anonymous` "
        "without a token or with MODELREG_AUTH=disabled."
    )
    action: str = strawberry.field(description="The mutation, e.g. `transitionStage`.")
    model: str | None = strawberry.field(description="The model acted on, where there is one.")
    target: str | None = strawberry.field(description="What was acted on, e.g. `fraud/3`.")
    input: JSON = strawberry.field(
        description="The mutation's input, summarized: secrets and tokens are never kept, "
        "long texts are cut."
    )
    result: str = strawberry.field(description="OK, or the error code of a refused call.")
    message: str | None = strawberry.field(description="Why a call was refused.")
    request_id: str = strawberry.field(
        description="The request's `x-request-id` (the caller's, or one the server made)."
    )
    client_address: str | None

    @staticmethod
    def of(record: AuditRecord) -> AuditEntry:
        summary: Any = record.input
        return AuditEntry(
            id=strawberry.ID(str(record.id)),
            created_at=record.created_at,
            actor=record.actor,
            action=record.action,
            model=record.model_name,
            target=record.target,
            input=summary,
            result=record.result,
            message=record.message,
            request_id=record.request_id,
            client_address=record.client_address,
        )


@strawberry.input(description="Entries matching all the given fields.")
class AuditFilter:
    actor: str | None = None
    model: str | None = None
    action: str | None = None
    since: datetime | None = strawberry.field(default=None, description="Inclusive.")
    until: datetime | None = strawberry.field(default=None, description="Exclusive.")

    def to_storage(self) -> StorageAuditFilter:
        return StorageAuditFilter(
            actor=self.actor,
            model_name=self.model,
            action=self.action,
            since=self.since,
            until=self.until,
        )
