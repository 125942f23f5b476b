"""The audit log: rows are inserted and read, never updated or deleted."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.pagination import PageRequest, keyset_page, page_parameters
from storage.records import AuditRecord
from storage.tables import audit_log

_INSERT = insert(audit_log)
_COLUMNS = tuple(audit_log.c)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str | None = None
    model_name: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def insert_entry(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(_INSERT, values)


def _conditions(audit_filter: AuditFilter) -> Sequence[ColumnElement[bool]]:
    conditions = []
    if audit_filter.actor is not None:
        conditions.append(audit_log.c.actor == audit_filter.actor)
    if audit_filter.model_name is not None:
        conditions.append(audit_log.c.model_name == audit_filter.model_name)
    if audit_filter.action is not None:
        conditions.append(audit_log.c.action == audit_filter.action)
    if audit_filter.since is not None:
        conditions.append(audit_log.c.created_at >= audit_filter.since)
    if audit_filter.until is not None:
        conditions.append(audit_log.c.created_at < audit_filter.until)
    return conditions


async def list_entries(
    conn: AsyncConnection, audit_filter: AuditFilter, page: PageRequest
) -> list[AuditRecord]:
    """Entries matching the filter, newest first."""
    query = select(*_COLUMNS).where(*_conditions(audit_filter))
    statement = keyset_page(query, (audit_log.c.id,), descending=True, after=page.after is not None)
    rows = await conn.execute(statement, page_parameters(page))
    return [AuditRecord(*row) for row in rows]


async def count_entries(conn: AsyncConnection, audit_filter: AuditFilter) -> int:
    query = select(func.count()).select_from(audit_log).where(*_conditions(audit_filter))
    return int((await conn.execute(query)).scalar_one())
