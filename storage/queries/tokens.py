"""API tokens: stored as SHA-256 hashes, looked up by hash, revoked but never deleted."""

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage import sqlite_driver
from storage.dialect import insert_on_conflict
from storage.enums import Role
from storage.pagination import PageRequest, keyset_page, page_parameters
from storage.records import TokenRecord
from storage.rows import AnyRow
from storage.tables import api_tokens

_COLUMNS = (
    api_tokens.c.id,
    api_tokens.c.name,
    api_tokens.c.prefix,
    api_tokens.c.role,
    api_tokens.c.model_patterns,
    api_tokens.c.created_at,
    api_tokens.c.created_by,
    api_tokens.c.expires_at,
    api_tokens.c.revoked_at,
    api_tokens.c.revoked_by,
    api_tokens.c.last_used_at,
)
_BY_HASH = select(*_COLUMNS).where(api_tokens.c.token_hash == bindparam("token_hash"))
_BY_NAME = select(*_COLUMNS).where(api_tokens.c.name == bindparam("name"))
_ANY = select(exists().select_from(api_tokens))
_TOUCH = (
    update(api_tokens)
    .where(api_tokens.c.id == bindparam("token_id"))
    .values(last_used_at=bindparam("now"))
)
_REVOKE = (
    update(api_tokens)
    # Not bindparam("name"): in an UPDATE that name is reserved for the SET clause.
    .where(api_tokens.c.name == bindparam("token_name"), api_tokens.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("now"), revoked_by=bindparam("actor"))
    .returning(*_COLUMNS)
)
_PAGE = {
    after: keyset_page(select(*_COLUMNS), (api_tokens.c.id,), descending=False, after=after)
    for after in (False, True)
}
_PAGE_ACTIVE = {
    after: keyset_page(
        select(*_COLUMNS).where(api_tokens.c.revoked_at.is_(None)),
        (api_tokens.c.id,),
        descending=False,
        after=after,
    )
    for after in (False, True)
}


def _record(row: AnyRow) -> TokenRecord:
    values = row._mapping
    return TokenRecord(**{**values, "role": Role(values["role"])})


def _values(
    *,
    name: str,
    token_hash: str,
    prefix: str,
    role: Role,
    model_patterns: list[str],
    expires_at: datetime | None,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "name": name,
        "token_hash": token_hash,
        "prefix": prefix,
        "role": role.value,
        "model_patterns": model_patterns,
        "created_at": now,
        "created_by": actor,
        "expires_at": expires_at,
    }


async def insert_token(conn: AsyncConnection, **fields: Any) -> TokenRecord | None:
    """Store a token (see `_values` for the fields); None when the name is taken."""
    statement = insert_on_conflict(conn, api_tokens).values(**_values(**fields))
    guarded = statement.on_conflict_do_nothing(index_elements=["name"])
    row = (await conn.execute(guarded.returning(*_COLUMNS))).first()
    return _record(row) if row is not None else None


async def token_by_hash(conn: AsyncConnection, token_hash: str) -> TokenRecord | None:
    with sqlite_driver.quick():  # a unique hash
        row = (await conn.execute(_BY_HASH, {"token_hash": token_hash})).first()
    return _record(row) if row is not None else None


async def token_by_name(conn: AsyncConnection, name: str) -> TokenRecord | None:
    row = (await conn.execute(_BY_NAME, {"name": name})).first()
    return _record(row) if row is not None else None


async def any_token_exists(conn: AsyncConnection) -> bool:
    """Has a token ever been made (revoked ones count)?"""
    return bool((await conn.execute(_ANY)).scalar())


async def touch(conn: AsyncConnection, token_id: int, now: datetime) -> None:
    await conn.execute(_TOUCH, {"token_id": token_id, "now": now})


async def revoke(
    conn: AsyncConnection, name: str, *, actor: str, now: datetime
) -> TokenRecord | None:
    """Revoke an active token; None if there is no active token of that name."""
    row = (await conn.execute(_REVOKE, {"token_name": name, "now": now, "actor": actor})).first()
    return _record(row) if row is not None else None


async def list_tokens(
    conn: AsyncConnection, page: PageRequest, *, include_revoked: bool
) -> list[TokenRecord]:
    statements = _PAGE if include_revoked else _PAGE_ACTIVE
    statement = statements[page.after is not None]
    return [_record(row) for row in await conn.execute(statement, page_parameters(page))]


async def count_tokens(conn: AsyncConnection, *, include_revoked: bool) -> int:
    statement = select(func.count()).select_from(api_tokens)
    if not include_revoked:
        statement = statement.where(api_tokens.c.revoked_at.is_(None))
    return int((await conn.execute(statement)).scalar_one())


async def all_tokens(conn: AsyncConnection) -> list[TokenRecord]:
    """Every token, oldest first (the operator's `modelreg token list`)."""
    rows = await conn.execute(select(*_COLUMNS).order_by(api_tokens.c.id))
    return [_record(row) for row in rows]
