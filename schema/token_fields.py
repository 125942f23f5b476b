"""The token fields of Query and Mutation (merged into the root types)."""

import strawberry

from resolvers import tokens
from schema.connections import Connection, connection
from schema.token_types import (
    ApiToken,
    CreateApiTokenInput,
    CreateApiTokenPayload,
    RevokeApiTokenInput,
    RevokeApiTokenPayload,
    Viewer,
)
from schema.types import Ctx
from storage.enums import Role


@strawberry.type
class TokenQuery:
    @strawberry.field(description="The caller's token name, role and model patterns.")
    def viewer(self, info: Ctx) -> Viewer:
        principal = info.context.principal
        assert principal is not None, "nothing runs without a principal"
        return Viewer(
            name=principal.name, role=principal.role, models=list(principal.model_patterns)
        )

    @strawberry.field(description="API tokens, oldest first (admins).")
    async def api_tokens(
        self,
        info: Ctx,
        first: int | None = 20,
        after: str | None = None,
        include_revoked: bool = False,
    ) -> Connection[ApiToken]:
        page = await tokens.list_tokens(
            info.context, first=first, after=after, include_revoked=include_revoked
        )
        return connection(page, ApiToken.of, after=after)


@strawberry.type
class TokenMutation:
    @strawberry.mutation(description="Make a token (admins); it is in the payload only.")
    async def create_api_token(
        self, info: Ctx, input: CreateApiTokenInput
    ) -> CreateApiTokenPayload:
        issued = await tokens.create_token(
            info.context,
            name=input.name,
            role=Role(input.role),
            model_patterns=input.models,
            expires_in=input.expires_in,
        )
        return CreateApiTokenPayload(token=issued.token, api_token=ApiToken.of(issued.record))

    @strawberry.mutation(description="Revoke a token at once (admins).")
    async def revoke_api_token(
        self, info: Ctx, input: RevokeApiTokenInput
    ) -> RevokeApiTokenPayload:
        record = await tokens.revoke_token(info.context, input.name)
        return RevokeApiTokenPayload(api_token=ApiToken.of(record))
