"""Reading the audit log (admins): newest first, filtered, keyset-paginated.

There is no use case that changes or deletes an audit row: the log is
append-only, written only by the mutations themselves (see resolvers/audit.py).
"""

import dataclasses
from datetime import datetime

from resolvers import validation
from resolvers.context import RequestContext
from resolvers.pagination import Page, encode_cursor, make_page, page_request
from storage.enums import Role
from storage.queries import audit
from storage.queries.audit import AuditFilter
from storage.records import AuditRecord

_CURSOR_KIND = "audit"


def utc_time(value: datetime | None, field: str) -> datetime | None:
    """A filter's time in UTC; BAD_USER_INPUT for a time without a zone or out of range."""
    return validation.utc_time(value, f"filter.{field}") if value is not None else None


def checked_filter(audit_filter: AuditFilter) -> AuditFilter:
    """The filter with its times in UTC; its strings are one line, at most a name long."""
    for field, value in (
        ("actor", audit_filter.actor),
        ("model", audit_filter.model_name),
        ("action", audit_filter.action),
    ):
        if value is not None:
            validation.filter_text(value, f"filter.{field}")
    return dataclasses.replace(
        audit_filter,
        since=utc_time(audit_filter.since, "since"),
        until=utc_time(audit_filter.until, "until"),
    )


async def list_audit_entries(
    ctx: RequestContext, audit_filter: AuditFilter, *, first: int | None, after: str | None
) -> Page[AuditRecord]:
    """Entries matching `audit_filter`, newest first (`since` inclusive, `until` exclusive)."""
    ctx.authorize(Role.ADMIN, action="auditLog")
    audit_filter = checked_filter(audit_filter)
    page = page_request(first, after, _CURSOR_KIND, (int,), descending=True)
    async with ctx.read() as conn:
        rows = await audit.list_entries(conn, audit_filter, page)

    async def count() -> int:
        async with ctx.read() as conn:
            return await audit.count_entries(conn, audit_filter)

    return make_page(rows, page, lambda record: encode_cursor(_CURSOR_KIND, record.id), count)
