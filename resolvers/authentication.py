"""Turning an `Authorization: Bearer mr_...` header into the request's principal."""

import logging
from datetime import timedelta

from resolvers.authorization import Principal
from resolvers.context import RequestContext
from resolvers.tokens import TOKEN_PREFIX, hash_token
from storage.clock import utcnow
from storage.queries import tokens

logger = logging.getLogger(__name__)

# lastUsedAt is written at most this often per token: a write per request
# would serialize every reader on SQLite's single writer.
LAST_USED_RESOLUTION = timedelta(minutes=1)


async def authenticate(ctx: RequestContext, authorization: str | None) -> None:
    """Set `ctx.principal` from the header, or say in `ctx.auth_problem` why not.

    Messages never repeat the token: a mistyped secret is still a secret.
    """
    if not authorization:
        ctx.auth_problem = "this call needs a token: send Authorization: Bearer mr_..."
        ctx.auth_failure = "missing"
        return
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        ctx.auth_problem = "the Authorization header must be `Bearer <token>`"
        ctx.auth_failure = "malformed"
        return
    if not token.startswith(TOKEN_PREFIX):
        ctx.auth_problem = "that is not a modelreg token (they start with mr_)"
        ctx.auth_failure = "malformed"
        return
    token_hash = hash_token(token)
    record = ctx.token_cache.get(token_hash)
    # Only a record just read from the database starts a cache entry: remembering
    # a cached one again would restart its timer, and a token in steady use would
    # then outlive its revocation elsewhere for as long as it kept being used.
    fresh = record is None
    if record is None:
        async with ctx.read() as conn:
            record = await tokens.token_by_hash(conn, token_hash)
    now = utcnow()
    if record is None:
        ctx.auth_problem = "unknown token"
        ctx.auth_failure = "unknown"
        return
    if record.revoked_at is not None:
        ctx.claimed_actor = record.name
        ctx.auth_problem = f"token {record.name!r} was revoked"
        ctx.auth_failure = "revoked"
        return
    if record.expires_at is not None and record.expires_at <= now:
        ctx.claimed_actor = record.name
        ctx.auth_problem = f"token {record.name!r} expired at {record.expires_at.isoformat()}"
        ctx.auth_failure = "expired"
        return
    if fresh:
        ctx.token_cache.remember(token_hash, record)
    ctx.principal = Principal(
        name=record.name,
        role=record.role,
        model_patterns=tuple(record.model_patterns),
        token_id=record.id,
    )
    if record.last_used_at is None or now - record.last_used_at >= LAST_USED_RESOLUTION:
        await ctx.loaders.close()
        # Best effort: a read must never wait for (or fail on) the write lock. When
        # the lock is busy or the database read-only the write is skipped, and the
        # next request of this token tries again.
        try:
            async with ctx.db.transaction_without_waiting() as conn:
                await tokens.touch(conn, record.id, now)
        except Exception as error:
            logger.debug("lastUsedAt of token %r not written: %s", record.name, error)
            return
        ctx.token_cache.used(token_hash, now)
