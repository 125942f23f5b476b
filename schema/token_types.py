"""API tokens and the caller, as GraphQL sees them (never the token itself after creation)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.enums import Role
from storage.records import TokenRecord


@strawberry.type(description="An API token's description; the token itself is shown once.")
class ApiToken:
    name: str
    role: Role
    models: list[str] = strawberry.field(
        description="fnmatch patterns of the models it may change; empty: all"
    )
    prefix: str = strawberry.field(description="The token's first characters, to recognize it.")
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    last_used_at: datetime | None = strawberry.field(description="Updated at most once a minute.")

    @staticmethod
    def of(record: TokenRecord) -> ApiToken:
        return ApiToken(
            name=record.name,
            role=record.role,
            models=record.model_patterns,
            prefix=record.prefix,
            created_at=record.created_at,
            created_by=record.created_by,
            expires_at=record.expires_at,
            revoked_at=record.revoked_at,
            revoked_by=record.revoked_by,
            last_used_at=record.last_used_at,
        )


@strawberry.type(description="Who is calling.")
class Viewer:
    name: str
    role: Role
    models: list[str]


@strawberry.input
class CreateApiTokenInput:
    name: str = strawberry.field(description="Recorded as the actor of everything it does.")
    role: Role
    models: list[str] = strawberry.field(
        default_factory=list, description="Limit changes to models matching these patterns."
    )
    expires_in: str | None = strawberry.field(
        default=None, description="90d, 12h, 30m, 2w; default: never"
    )


@strawberry.type
class CreateApiTokenPayload:
    token: str = strawberry.field(description="Shown only in this answer: store it now.")
    api_token: ApiToken


@strawberry.input
class RevokeApiTokenInput:
    name: str


@strawberry.type
class RevokeApiTokenPayload:
    api_token: ApiToken
