"""API tokens: issue (shown once), list, revoke; the first admin token of a new registry."""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers import validation
from resolvers.context import RequestContext
from resolvers.errors import BadUserInput, Conflict, NotFound
from resolvers.pagination import Page, encode_cursor, make_page, page_request
from storage.clock import utcnow
from storage.database import Database
from storage.enums import Role
from storage.queries import tokens
from storage.records import TokenRecord

TOKEN_PREFIX = "mr_"  # noqa: S105 (a prefix, not a secret)
BOOTSTRAP_NAME = "admin"
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]*")
# ASCII digits (`\d` takes any script's), few enough that `int` stays cheap.
_DURATION = re.compile(r"([0-9]{1,12})[ ]*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PATTERNS_MAX = 100
# Shown to operators so they can tell tokens apart; reveals 5 of 43 random characters.
_SHOWN_PREFIX_LENGTH = len(TOKEN_PREFIX) + 5


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token's record and the token itself: the only time it is visible."""

    record: TokenRecord
    token: str


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What is stored and looked up: SHA-256, enough for 256 random bits (no salt needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def parse_duration(value: str, field: str = "expiresIn") -> timedelta:
    """`90d`, `12h`, `30m`, `3600s` or `2w`."""
    match = _DURATION.fullmatch(value.strip())
    if match is None or int(match.group(1)) == 0:
        raise BadUserInput(
            f"{field} must be a positive duration such as 90d, 12h or 30m", field=field
        )
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds > 100 * 365 * 86400:
        raise BadUserInput(f"{field} is longer than 100 years", field=field)
    return timedelta(seconds=seconds)


def _checked_name(name: str) -> str:
    if not 1 <= len(name) <= 256 or not NAME_PATTERN.fullmatch(name):
        raise BadUserInput(
            "token name must be 1-256 letters, digits, '.', '_', '@', '+' or '-', "
            "starting with a letter or digit",
            field="name",
        )
    return name


def _checked_patterns(role: Role, patterns: list[str]) -> list[str]:
    if role == Role.ADMIN and patterns:
        # An admin manages tokens and webhooks of every model; a limited one
        # could mint itself an unlimited token.
        raise BadUserInput("admin tokens cannot be limited to models", field="models")
    if len(patterns) > _PATTERNS_MAX:
        raise BadUserInput(f"at most {_PATTERNS_MAX} model patterns", field="models")
    for pattern in patterns:
        # Any name's characters, and fnmatch's * ? [ ]: only what no name holds is refused.
        validation.characters(pattern, "models", prose=False)
        if not 1 <= len(pattern) <= 256 or "/" in pattern or ":" in pattern:
            raise BadUserInput(
                f"model pattern {pattern!r} must be 1-256 characters without '/' or ':' "
                "(fnmatch's * ? [ ] match model names)",
                field="models",
            )
    return list(dict.fromkeys(patterns))


async def _insert(
    conn: AsyncConnection,
    *,
    name: str,
    role: Role,
    model_patterns: list[str],
    expires_in: timedelta | None,
    actor: str,
    now: datetime,
) -> IssuedToken | None:
    """Store a new token; None when the name is taken."""
    token = new_token()
    record = await tokens.insert_token(
        conn,
        name=name,
        token_hash=hash_token(token),
        prefix=token[:_SHOWN_PREFIX_LENGTH],
        role=role,
        model_patterns=model_patterns,
        expires_at=now + expires_in if expires_in is not None else None,
        actor=actor,
        now=now,
    )
    return IssuedToken(record, token) if record is not None else None


async def _issue(
    conn: AsyncConnection,
    *,
    name: str,
    role: Role,
    model_patterns: list[str],
    expires_in: timedelta | None,
    actor: str,
) -> IssuedToken:
    """Validate and store a token; CONFLICT if the name was ever used (names identify actors)."""
    issued = await _insert(
        conn,
        name=_checked_name(name),
        role=role,
        model_patterns=_checked_patterns(role, model_patterns),
        expires_in=expires_in,
        actor=actor,
        now=utcnow(),
    )
    if issued is None:
        raise Conflict(f"a token named {name!r} exists or existed", name=name)
    return issued


async def issue(
    db: Database,
    *,
    name: str,
    role: Role,
    model_patterns: list[str],
    expires_in: timedelta | None,
    actor: str,
) -> IssuedToken:
    """Create a token straight in the database (the operator's CLI)."""
    async with db.transaction() as conn:
        return await _issue(
            conn,
            name=name,
            role=role,
            model_patterns=model_patterns,
            expires_in=expires_in,
            actor=actor,
        )


async def create_token(
    ctx: RequestContext,
    *,
    name: str,
    role: Role,
    model_patterns: list[str],
    expires_in: str | None,
) -> IssuedToken:
    """Create a token over the API (admins)."""
    ctx.authorize(Role.ADMIN)
    ctx.audit_target(target=f"token {name}")
    duration = parse_duration(expires_in) if expires_in is not None else None
    async with ctx.transaction() as conn:
        return await _issue(
            conn,
            name=name,
            role=role,
            model_patterns=model_patterns,
            expires_in=duration,
            actor=ctx.actor,
        )


async def revoke_directly(db: Database, name: str, *, actor: str) -> TokenRecord:
    """Revoke by name (the CLI); NOT_FOUND if no active token has it."""
    _checked_name(name)
    async with db.transaction() as conn:
        record = await tokens.revoke(conn, name, actor=actor, now=utcnow())
    if record is None:
        raise NotFound(f"no active token named {name!r}", name=name)
    return record


async def revoke_token(ctx: RequestContext, name: str) -> TokenRecord:
    ctx.authorize(Role.ADMIN)
    ctx.audit_target(target=f"token {name}")
    _checked_name(name)
    async with ctx.transaction() as conn:
        record = await tokens.revoke(conn, name, actor=ctx.actor, now=utcnow())
        if record is None:
            raise NotFound(f"no active token named {name!r}", name=name)
    ctx.token_cache.forget(name)
    return record


async def list_tokens(
    ctx: RequestContext, *, first: int | None, after: str | None, include_revoked: bool
) -> Page[TokenRecord]:
    ctx.authorize(Role.ADMIN, action="apiTokens")
    kind = "tokens:all" if include_revoked else "tokens:active"
    page = page_request(first, after, kind, (int,), descending=False)
    async with ctx.read() as conn:
        rows = await tokens.list_tokens(conn, page, include_revoked=include_revoked)

    async def count() -> int:
        async with ctx.read() as conn:
            return await tokens.count_tokens(conn, include_revoked=include_revoked)

    return make_page(rows, page, lambda record: encode_cursor(kind, record.id), count)


async def bootstrap_admin_token(db: Database) -> IssuedToken | None:
    """On a registry that never had a token, make the first admin token (once, race-free).

    Several processes may start at once: the unique name lets one of them win.
    """
    async with db.transaction() as conn:
        if await tokens.any_token_exists(conn):
            return None
        return await _insert(
            conn,
            name=BOOTSTRAP_NAME,
            role=Role.ADMIN,
            model_patterns=[],
            expires_in=None,
            actor="modelreg serve",
            now=utcnow(),
        )
